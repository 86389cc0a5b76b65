"""Optional (X_PUBLIC_MENTION_REPLIES, off by default): a short public reply to a mention of the
organisation's account, inviting the citizen to send a direct message.

The reply never answers the question: citizens mention personal matters (an address, a
neighbour, a burglary) and those are not discussed in public. It is the same fixed text for
everyone, with a "send a message" deep link, at most once per author per day, and never to a
reply to our own tweets (so a conversation under our invite does not earn a second one).
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import UTC, datetime

from bot.app import Services
from bot.channels.x import state
from bot.channels.x.client import XConnection
from bot.channels.x.errors import XConfigError, XError, XRateLimited, XTransient, translate
from bot.channels.x.health import ChannelHealth
from bot.core.language import detect_language

log = logging.getLogger(__name__)

INVITE_KEY = "utter_x_mention_invite"
MENTIONS = "GET /2/users/:id/mentions"
TWEET_FIELDS = ["author_id", "created_at", "in_reply_to_user_id", "text"]
MAX_PAGES = 5
CONFIG_PAUSE = 900.0


class MentionResponder:
    def __init__(self, conn: XConnection, services: Services, health: ChannelHealth, interval: float) -> None:
        self.conn = conn
        self.services = services
        self.health = health
        self.interval = interval

    def poll_once(self) -> int:
        """Invite the authors of new mentions to a DM; return how many invites were sent."""
        try:
            own_id, _ = self.conn.me()
            with self.services.sessions() as session:
                since = state.load_cursor(session, state.MENTION_CURSOR)
            tweets, newest = self._fetch(own_id, since)
        except Exception as exc:
            raise translate(exc) from exc
        if since is None:  # first start: from now on (0: no mentions yet, the first counts)
            with self.services.sessions.begin() as session:
                state.save_cursor(session, state.MENTION_CURSOR, newest or 0)
            return 0
        sent = 0
        for tweet in sorted(tweets, key=lambda t: t.id):
            if self._invite(tweet, own_id):
                sent += 1
        return sent

    def _fetch(self, own_id: str, since: int | None) -> tuple[list, int | None]:  # type: ignore[type-arg]
        tweets: list = []  # type: ignore[type-arg]
        newest: int | None = None
        token: str | None = None
        for _ in range(MAX_PAGES):
            response = self.conn.client.get_users_mentions(
                own_id,
                since_id=since or None,
                max_results=100,
                pagination_token=token,
                tweet_fields=TWEET_FIELDS,
                user_auth=self.conn.user_auth,
            )
            for tweet in response.data or []:
                newest = tweet.id if newest is None else max(newest, tweet.id)
                tweets.append(tweet)
            token = (response.meta or {}).get("next_token")
            if since is None or not token:
                break
        return tweets, newest

    def _invite(self, tweet, own_id: str) -> bool:  # type: ignore[no-untyped-def]
        author = str(tweet.author_id or "")
        today = datetime.now(UTC).date().isoformat()
        skip = not author or author == own_id or str(tweet.in_reply_to_user_id or "") == own_id
        with self.services.sessions() as session:
            skip = (
                skip
                or state.seen(session, state.MENTION_CHANNEL, str(tweet.id))
                or state.seen(session, state.INVITE_CHANNEL, f"{author}:{today}")
            )
            if not skip:
                language = detect_language(html.unescape(tweet.text or ""))
                text = self.services.triage.library(session).text(
                    INVITE_KEY, language, **self.services.settings.contacts.values()
                )
        if not skip:
            try:
                self.conn.client.create_tweet(
                    text=text,
                    in_reply_to_tweet_id=tweet.id,
                    user_auth=self.conn.user_auth,
                    direct_message_deep_link=f"https://twitter.com/messages/compose?recipient_id={own_id}",
                )
            except Exception as exc:
                raise translate(exc) from exc
        with self.services.sessions.begin() as session:
            state.mark_seen(session, state.MENTION_CHANNEL, str(tweet.id))
            if not skip:
                state.mark_seen(session, state.INVITE_CHANNEL, f"{author}:{today}")
            state.save_cursor(session, state.MENTION_CURSOR, tweet.id)
        return not skip

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.poll_once)
            except XRateLimited as exc:
                await asyncio.sleep(exc.seconds)
                continue
            except XConfigError as exc:
                self.health.problem("mentions", str(exc))
                await asyncio.sleep(CONFIG_PAUSE)
                continue
            except (XTransient, XError) as exc:
                log.warning("X mentions: %s", exc)
            except Exception:
                log.exception("X mentions: poll failed")
            else:
                self.health.ok("mentions")
            await asyncio.sleep(max(self.interval, self.conn.limits.wait(MENTIONS)))
