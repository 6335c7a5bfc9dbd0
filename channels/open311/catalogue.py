"""The administration's service types as GeoReport services, from the configuration.

Every department's services are requestable; the department is the service's `group`. Names
are English unless the client asks for Chinese (`locale=zh…` or `lang=zh…`) and the
configuration has a Chinese name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from settings import Config, DepartmentConfig, ServiceConfig

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_KEYWORDS = 12  # enough to help a citizen find the type; the router keeps the full lists


def language_of(args: Mapping[str, str]) -> str:
    """`zh` when the client asks for Chinese (locale=zh_CN, lang=zh-Hans…), else `en`."""
    wanted = (args.get("locale") or args.get("lang") or "").strip().lower()
    return "zh" if wanted.startswith("zh") else "en"


def name_in(names: Mapping[str, str], language: str) -> str:
    return names.get(language) or names.get("en") or next(iter(names.values()), "")


def department_of(config: Config, service: ServiceConfig) -> DepartmentConfig | None:
    return config.department(service.department)


def service_entry(config: Config, service: ServiceConfig, language: str) -> dict[str, Any]:
    department = department_of(config, service)
    keywords = service.keywords.get(language) or service.keywords.get("en") or ()
    return {
        "service_code": service.code,
        "service_name": name_in(service.name, language),
        "description": None,
        "metadata": False,  # no attributes are configured for any service type
        "type": "realtime",  # the case reference comes back at once
        "keywords": ", ".join(keywords[:MAX_KEYWORDS]) or None,
        "group": name_in(department.name, language) if department else None,
    }


def services_list(config: Config, language: str) -> list[dict[str, Any]]:
    return [service_entry(config, service, language)
            for department in config.departments for service in department.services]


def service_definition(service: ServiceConfig) -> dict[str, Any]:
    """The definition of a service type: its extra attributes, none so far."""
    return {"service_code": service.code, "attributes": []}


def discovery(config: Config, endpoint_url: str, changeset: str) -> dict[str, Any]:
    letters_email = config["letters.email"]
    return {
        "changeset": changeset,
        "contact": f"{config['administration.name']}: {letters_email}, "
                   f"{config['letters.phone']}",
        "key_service": f"Ask {letters_email} for an API key (an intake token).",
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": endpoint_url,
            "changeset": changeset,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
