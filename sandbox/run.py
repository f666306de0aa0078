"""Start both sandbox CRMs from one generated world, and say how to point churnkb at them."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from churnkb.sandbox.faults import Faults
from churnkb.sandbox.generator import World, generate_world
from churnkb.sandbox.hubspot_catalog import ALL_SCOPES
from churnkb.sandbox.hubspot_server import HubSpotSandbox
from churnkb.sandbox.salesforce_server import SalesforceSandbox


@dataclass(frozen=True)
class Sandboxes:
    """Both running servers, the world they serve and the environment that reaches them."""

    salesforce: SalesforceSandbox
    hubspot: HubSpotSandbox
    world: World
    env: dict[str, str]

    def exports(self) -> list[str]:
        """``export NAME=value`` lines for a shell (the tokens are sandbox-only, not secrets)."""
        return [f"export {name}={shlex.quote(value)}" for name, value in self.env.items()]


@contextmanager
def sandboxes(
    accounts: int = 200,
    seed: int = 7,
    faults: Faults | None = None,
    world: World | None = None,
    *,
    salesforce_port: int = 0,
    hubspot_port: int = 0,
    hubspot_missing_scopes: tuple[str, ...] = (),
) -> Iterator[Sandboxes]:
    """Both sandboxes running on 127.0.0.1, serving ``world`` (or ``generate_world(accounts, seed)``);
    stopped on exit. ``hubspot_missing_scopes``: scopes the HubSpot token lacks (403 MISSING_SCOPES)."""
    faults = faults or Faults()
    world = world or generate_world(accounts=accounts, seed=seed)
    salesforce = SalesforceSandbox(world.salesforce, faults=faults, port=salesforce_port)
    scopes = set(ALL_SCOPES) - set(hubspot_missing_scopes) if hubspot_missing_scopes else None
    hubspot = HubSpotSandbox.from_world(world, faults=faults, port=hubspot_port, scopes=scopes)
    with ExitStack() as stack:
        stack.enter_context(salesforce)
        stack.enter_context(hubspot)
        env = {
            "SALESFORCE_INSTANCE_URL": salesforce.base_url,
            "SALESFORCE_ACCESS_TOKEN": salesforce.token,
            "HUBSPOT_BASE_URL": hubspot.base_url,
            "HUBSPOT_ACCESS_TOKEN": hubspot.token,
        }
        yield Sandboxes(salesforce=salesforce, hubspot=hubspot, world=world, env=env)
