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
    "requests:manage": frozenset({"dpo"}),
    "incidents:manage": frozenset({"dpo"}),
    "assessment:manage": frozenset({"dpo"}),
    "suppression:read": frozenset({"sales", "dpo"}),
}


def may(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
