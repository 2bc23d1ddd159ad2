"""Which role may do what: the one table the endpoints consult.

`sales` work with customers and see personal fields for a purpose with a basis;
`manager` sees statistics and non-personal fields, never a personal value;
`auditor` sees the ledger, event metadata and replays, never plaintext; `dpo`
handles data-subject requests and erasure and may read any customer for one;
`admin` manages purposes and tokens and reads no customer data.
"""

PERMISSIONS: dict[str, frozenset[str]] = {
    "health:read": frozenset({"admin", "sales", "manager", "auditor", "dpo"}),
    "purposes:read": frozenset({"admin", "sales", "manager", "auditor", "dpo"}),
    "purposes:write": frozenset({"admin"}),
    "customers:list": frozenset({"sales", "manager", "dpo"}),
    "customers:write": frozenset({"sales", "dpo"}),
    "customers:read-personal": frozenset({"sales", "dpo"}),
    # SENSITIVE-DATA: personal fields read for a purpose with a sensitive data
    # category need this stricter permission on top of customers:read-personal.
    "customers:read-sensitive": frozenset({"dpo"}),
    "customers:erase": frozenset({"dpo"}),
    "customers:timeline": frozenset({"sales", "auditor", "dpo"}),
    "consents:read": frozenset({"sales", "manager", "auditor", "dpo"}),
    "consents:contactable": frozenset({"sales", "dpo"}),
    "interactions:write": frozenset({"sales"}),
    "interactions:read": frozenset({"sales", "dpo"}),
    "exports:read": frozenset({"sales", "manager", "dpo"}),
    "exports:personal": frozenset({"sales", "dpo"}),
    "ledger:read": frozenset({"auditor", "dpo"}),
    "customers:replay": frozenset({"auditor", "dpo"}),
    "statistics:read": frozenset({"manager", "dpo"}),
    "requests:manage": frozenset({"dpo"}),
    "incidents:manage": frozenset({"dpo"}),
    "assessment:manage": frozenset({"dpo"}),
    "suppression:read": frozenset({"sales", "dpo"}),
}


def may(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


# Permissions that open customers' personal data, and for which roles (a replay
# shows personal fields to the dpo only): the bulk-read alert watches them.
PERSONAL_READS: dict[str, frozenset[str]] = {
    "customers:read-personal": PERMISSIONS["customers:read-personal"],
    "interactions:read": PERMISSIONS["interactions:read"],
    "customers:replay": frozenset({"dpo"}),
}


def reads_personal_data(role: str, permission: str) -> bool:
    return role in PERSONAL_READS.get(permission, frozenset())
