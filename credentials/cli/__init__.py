"""`provenance credential …`: issuer keys, and issuing, verifying, revoking and listing
verifiable credentials; the governor's trust list and override.

The chain is the one every command uses (`PROVENANCE_RPC_URL`, the deployment record under
the state directory). Issued credentials are kept where the bridge's calibration check
looks for them (`PROVENANCE_CREDENTIAL_DATABASE_URL`, else `credentials.db` under the state
directory), so a calibration certificate issued here counts at once. `credential issue
--shipment` takes its claims from the `CredentialPorts` the composition root passes in.
Keys are encrypted keystore files; their passphrase comes from
`PROVENANCE_KEYSTORE_PASSPHRASE`. Every command takes
`--json` for one machine-readable JSON document on stdout.
"""

import typer

from credentials.cli.environment import CredentialPorts, ShipmentClaims
from credentials.cli.issuance import issue, revoke
from credentials.cli.keys import keygen
from credentials.cli.listing import list_credentials
from credentials.cli.organization import commission_asset, trust
from credentials.cli.override import governor_revoke, governor_suspend, governor_unsuspend
from credentials.cli.suspension import suspend, unsuspend
from credentials.cli.verification import verify

credential_app = typer.Typer(
    help="Verifiable credentials: issue, verify, revoke, list; issuer keys, trust, assets; "
    "the governor's override.",
    no_args_is_help=True,
)
# Registered here, in the order `--help` lists them.
credential_app.command("keygen")(keygen)
credential_app.command("issue")(issue)
credential_app.command("verify")(verify)
credential_app.command("revoke")(revoke)
credential_app.command("suspend")(suspend)
credential_app.command("unsuspend")(unsuspend)
credential_app.command("governor-revoke")(governor_revoke)
credential_app.command("governor-suspend")(governor_suspend)
credential_app.command("governor-unsuspend")(governor_unsuspend)
credential_app.command("commission")(commission_asset)
credential_app.command("trust")(trust)
credential_app.command("list")(list_credentials)

__all__ = ["CredentialPorts", "ShipmentClaims", "credential_app"]
