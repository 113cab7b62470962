"""The application service: what a request does after it is acknowledged, chat-neutral.

It owns the request lifecycle (authorize, plan, ask for approval, execute, audit, answer) and
the approval lifecycle (clicks, expiry, interrupted executions), and talks to the outside
through ports: the chat (``chat.Chat``), the engines (``bot.core.engine``) and the repositories
(approvals, audit). Chat adapters (``bot/slack/``) turn platform payloads into orders and
implement the chat port; nothing here imports a chat SDK.
"""
