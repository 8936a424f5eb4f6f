from fastapi import APIRouter

from service.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """Liveness, without a token (for load balancers and start-up scripts)."""
    return Health()
