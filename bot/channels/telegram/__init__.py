"""The Telegram channel (python-telegram-bot): citizens in private chats, staff on their phone.

settings.py  TELEGRAM_* settings          updates.py  exactly-once update handling, polling loop
app.py       build_application(...)       citizens.py / professionals.py  thin handlers
sender.py    the outbox Sender            pushes.py   new-question pushes and reminders to staff
part.py      start(app, services) inside `triage serve`
"""
