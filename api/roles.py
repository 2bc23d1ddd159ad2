"""Which role may do what: the one table the endpoints consult."""

PERMISSIONS: dict[str, frozenset[str]] = {
    "health:read": frozenset({"admin", "sales", "manager", "auditor", "dpo"}),
    "purposes:read": frozenset({"admin", "sales", "manager", "auditor", "dpo"}),
    "purposes:write": frozenset({"admin"}),
    "customers:list": frozenset({"sales", "manager", "dpo"}),
    "customers:write": frozenset({"sales", "dpo"}),
    "customers:read-personal": frozenset({"sales", "dpo"}),
    "customers:erase": frozenset({"dpo"}),
    "interactions:write": frozenset({"sales"}),
    "interactions:read": frozenset({"sales", "dpo"}),
    "ledger:read": frozenset({"auditor", "dpo"}),
    "customers:replay": frozenset({"auditor", "dpo"}),
    "statistics:read": frozenset({"manager", "dpo"}),
}


def may(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


# Permissions that open customers' personal data: the bulk-read alert watches them.
PERSONAL_READS = frozenset({"customers:read-personal", "interactions:read"})
