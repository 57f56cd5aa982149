"""Full verification of credentials: the offline checks plus what the chain says, fail closed.

- `verifier`: `CredentialVerifier`, which reads the chain for a list of credentials and
  remembers what cannot change;
- `checks`: the chain checks, pure;
- `claims`: what those checks need from a credential, read defensively;
- `history`: who could issue what when, from the membership and trust list logs.

The chain reads are the contracts' views (`ledger_client.contract_view`), sent together in
one `ledger_client.reads.ReadBatch`.
"""

from credentials.verify.checks import ANCHOR_DELAY_LIMIT_S, CLOCK_SKEW_S
from credentials.verify.claims import LOT_CREDENTIAL_TYPES
from credentials.verify.verifier import CACHE_LIMIT, CredentialVerifier

__all__ = [
    "ANCHOR_DELAY_LIMIT_S",
    "CACHE_LIMIT",
    "CLOCK_SKEW_S",
    "LOT_CREDENTIAL_TYPES",
    "CredentialVerifier",
]
