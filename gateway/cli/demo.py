"""`gateway demo`: seed the demo and walk one bidder through a whole guarantee over the real HTTP API
(in-process), printing each step: sections -> quotes -> accept -> pay -> issued -> verified letter."""

from __future__ import annotations

import json
import uuid
import warnings
from typing import Any

import click

from contracts.money import Money
from gateway.cli.common import CliError, migrate_or_exit, settings_from_env


@click.command(name="demo")
def command() -> None:
    """Seed demo data (credentials.json) and walk one bid guarantee from quote to verified letter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.composition import build_container
    from gateway.demo.seed import seed_demo
    from signing.certificates import TrustStore
    from signing.letter import verify_letter

    settings = settings_from_env()
    migrate_or_exit(settings)
    container = build_container(settings)
    try:
        path = seed_demo(container)
        credentials = json.loads(path.read_text(encoding="utf-8"))
        click.echo(f"1. seeded the center, sections and 3 sandbox institutions; credentials: {path}")
        auth: dict[str, str] = {}

        def post(client: TestClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(url, json=body, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
            if response.status_code >= 400:
                raise CliError(f"POST {url}: {response.status_code} {response.text}")
            result: dict[str, Any] = response.json()
            return result

        with TestClient(create_app(container), raise_server_exceptions=True) as client:
            # A rerun finds earlier guarantees: take the first (bidder, section) without a live one.
            bidder, section, app = _first_free(client, credentials["bidders"])
            auth["Authorization"] = f"Bearer {bidder['token']}"
            if app["status"] == "cancelled":
                raise CliError(f"no institution quoted for {section['code']} ({app['status_reason']})")
            click.echo(f"3. applied for {section['code']}: application {app['id']}, offers (best first):")
            for offer in app["offers"]:
                institution = offer["institution"]
                premium = Money(offer["premium_fen"])
                name = f"{institution['code']:<14} {institution['name']}"
                click.echo(f"     {name}  premium {premium}  {offer['decision']}")
            chosen = next((o for o in app["offers"] if o["decision"] == "instant"), app["offers"][0])
            app = post(client, f"/v1/applications/{app['id']}/accept", {"offer_id": chosen["offer_id"]})
            click.echo(f"4. accepted {chosen['institution']['code']}'s offer: status {app['status']}")
            app = post(client, f"/v1/applications/{app['id']}/payments", {"method": "sandbox"})
            click.echo(
                f"5. paid ¥{app['premium_fen'] / 100:,.2f}: status {app['status']} ({app['status_zh']})"
            )
            number = app["guarantee_no"]
            if not number:
                raise CliError(f"no guarantee issued: {app['status']} {app.get('status_reason')}")
            guarantee = client.get(f"/v1/guarantees/{number}", headers=auth).json()
            click.echo(
                f"6. guarantee {number}, verification code {guarantee['verification_code']},"
                f" cover {guarantee['cover_start']} .. {guarantee['cover_end']}"
            )
            pdf = client.get(f"/v1/guarantees/{number}/letter.pdf", headers=auth).content
            letter_path = settings.data_dir / f"{number}.pdf"
            letter_path.write_bytes(pdf)
            trust = TrustStore.from_pem(credentials["sandbox_trust_pem"])
            verdict = verify_letter(pdf, trust)
            click.echo(f"7. letter written to {letter_path} ({len(pdf):,} bytes); offline verification:")
            for check in verdict.checks:
                click.echo(f"     {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
            if not verdict.ok:
                raise CliError("the letter did not verify")
            click.echo("done: the whole life of a bid guarantee, from sections to a verified letter")
    finally:
        container.close()


def _first_free(
    client: Any, bidders: list[dict[str, str]]
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    for bidder in bidders:
        auth = {"Authorization": f"Bearer {bidder['token']}"}
        sections = client.get("/v1/sections", headers=auth).json()["data"]
        click.echo(f"2. {bidder['name']} ({bidder['uscc']}) sees {len(sections)} open sections:")
        for section in sections:
            click.echo(f"     {section['code']}  {section['name']}  deposit {Money(section['deposit_fen'])}")
        for section in sections:
            response = client.post(
                "/v1/applications",
                json={"section_code": section["code"]},
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            if response.status_code == 201:
                return bidder, section, dict(response.json())
            if response.json().get("code") != "application_exists":
                raise CliError(f"POST /v1/applications: {response.status_code} {response.text}")
            click.echo(f"   {section['code']}: this bidder already holds a live application; next")
    raise CliError("every demo bidder already holds a guarantee for every open section")
