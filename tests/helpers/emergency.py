"""The shipped emergency rules (responses/emergency.yml), read once through the service's loader,
for core tests that build a Library or call the detector themselves."""

from bot.config import PROJECT_ROOT
from bot.nlu.rasa_format import read_emergency

SHIPPED_RULES = read_emergency(PROJECT_ROOT / "responses")
