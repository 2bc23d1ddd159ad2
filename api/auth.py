"""Authentication (bearer tokens and OIDC access tokens) and the role check every
endpoint declares, with the rate limit and the bulk-read watch on the way."""

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.access import Principal, SignInRefused
from api.errors import ApiError
from api.monitoring import request_context
from api.roles import may, reads_personal_data
from api.security import SecurityOps
from api.wiring import Services
from domain import Actor

bearer = HTTPBearer(
    auto_error=False,
    description="a token from `ledgercrm token create`, or an OpenID Connect "
    "access token from the firm's identity provider",
)


# Dependencies that do no I/O are coroutines: FastAPI runs a plain function
# dependency in the thread pool, a hop that costs more than these do.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_security(request: Request) -> SecurityOps:
    security: SecurityOps = request.app.state.security
    return security


ServicesDep = Annotated[Services, Depends(get_services)]
SecurityDep = Annotated[SecurityOps, Depends(get_security)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticated(
    request: Request, security: SecurityDep, credentials: Credentials
) -> Principal:
    """The caller, once their credential holds and they are within their rate."""
    try:
        principal = security.sign_in(credentials.credentials if credentials else None)
    except SignInRefused as refused:
        raise ApiError(
            401,
            "unauthenticated",
            f"{refused.reason}; send a valid token as 'Authorization: Bearer "
            "<token>'; an administrator creates one with `ledgercrm token create "
            "--role ROLE --name NAME`",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    context = request_context(request.state)
    if context is not None:
        context.actor = f"{principal.role}:{principal.principal_id}"
    wait = security.retry_after(principal)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"this token made more than {security.rate_limiter.limit} requests in "
            f"a minute; retry after {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return principal


def allowed(permission: str) -> Callable[..., Actor]:
    """A dependency that admits only roles holding `permission`; yields the actor."""

    def check(
        request: Request, security: SecurityDep, credentials: Credentials
    ) -> Actor:
        # Authentication in this dependency, not one of its own: one trip to
        # the thread pool for both.
        principal = authenticated(request, security, credentials)
        if not may(principal.role, permission):
            security.forbidden(principal, permission)
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role!r} may not do this ({permission}); ask for a "
                "token with a role that may",
            )
        if reads_personal_data(principal.role, permission):
            _watch_personal_read(request, security, principal)
        return Actor(user_id=principal.principal_id, role=principal.role)

    return check


def _watch_personal_read(
    request: Request, security: SecurityOps, principal: Principal
) -> None:
    try:
        customer_id = UUID(request.path_params["customer_id"])
    except (KeyError, ValueError):
        return  # the route refuses a malformed id itself
    if security.personal_read(principal, customer_id):
        raise ApiError(
            403,
            "suspended",
            "this token read personal data of too many customers and is suspended; "
            "an administrator must review and reinstate it "
            "(`ledgercrm token reinstate TOKEN_ID`)",
        )
