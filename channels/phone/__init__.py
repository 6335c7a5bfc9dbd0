"""The phone channel through Twilio: the voice menu, SMS and WhatsApp, delivery callbacks.

views.py is the blueprint under /twilio/ (every webhook checks X-Twilio-Signature, see
security.py) plus /board/calls; sms.py and voice.py/calls.py turn webhooks into contacts;
outbound.py sends SMS from the outbox; keywords.py keeps STOP/START opt-outs; media.py's
worker fetches MMS media after the webhook answered; survey.py asks phone cases' satisfaction
question by an automated call.
"""

from __future__ import annotations

from typing import Any

from caseboard.navigation import add_link
from caseboard.outbox import register_transport
from caseboard.services import Services
from caseboard.supervisor_waiting import register_waiting_now


def init_channel(app: Any, services: Services) -> None:
    from channels.phone.agent_views import agents_bp
    from channels.phone.media import MediaService
    from channels.phone.outbound import SmsTransport
    from channels.phone.supervision import calls_on_hold
    from channels.phone.survey import SurveyCallTransport
    from channels.phone.survey_views import survey_bp
    from channels.phone.views import bp

    for channel in ("sms", "whatsapp"):
        register_transport(channel, SmsTransport(services.config, services.database, channel,
                                                 services.calendar))
    register_transport("phone", SurveyCallTransport(services.config, services.database,
                                                    services.calendar))
    register_waiting_now("phone", calls_on_hold)  # the dashboard's "calls waiting now"
    app.register_blueprint(bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(agents_bp)  # a board form: keeps its CSRF check
    if not any(s.name == MediaService.name for s in services.background):
        services.background.append(MediaService(services))
    add_link(app, "Calls", "phone.calls_waiting")
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # Twilio cannot send a CSRF token; its signature authenticates it
        csrf.exempt(bp)
        csrf.exempt(survey_bp)
