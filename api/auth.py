"""Bearer-token authentication and the role check every endpoint declares."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.access import Principal
from api.errors import ApiError
from api.roles import may
from api.wiring import Services
from domain import Actor

bearer = HTTPBearer(
    auto_error=False, description="a token from `ledgercrm token create`"
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def authenticated(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal = None
    if credentials is not None:
        principal = services.access.authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(
            401,
            "unauthenticated",
            "send a valid token as 'Authorization: Bearer <token>'; an administrator "
            "creates one with `ledgercrm token create --role ROLE --name NAME`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def allowed(permission: str) -> Callable[..., Actor]:
    """A dependency that admits only roles holding `permission`; yields the actor."""

    def check(principal: Annotated[Principal, Depends(authenticated)]) -> Actor:
        if not may(principal.role, permission):
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role!r} may not do this ({permission}); ask for a "
                "token with a role that may",
            )
        return Actor(user_id=principal.token_id.hex, role=principal.role)

    return check
