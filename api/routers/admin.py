"""Administration: users and their keys, ingest of a snapshot directory on the server, and
the running configuration (secrets masked)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import create_user
from api.deps import PrincipalDep, ServicesDep, counted
from api.schemas import Config, IngestStart, Job, User, UserCreate, UserCreated, UserList

router = APIRouter(tags=["admin"])


@router.get("/users", response_model=UserList, summary="All users (never their keys)")
def list_users(request: Request, services: ServicesDep) -> UserList:
    users = services.users.list_users()
    counted(request, len(users))
    return UserList(items=[u.public() for u in users])


@router.post(
    "/users", response_model=UserCreated, status_code=201, summary="Add a user; the API key is in this answer only"
)
def add_user(body: UserCreate, services: ServicesDep) -> UserCreated:
    user, key = create_user(services.users, body.name, body.role)
    return UserCreated(user=user.public(), api_key=key)


@router.delete("/users/{name}", response_model=User, summary="Revoke a user's key (takes effect at once)")
def revoke_user(name: str, services: ServicesDep) -> User:
    return User.model_validate(services.users.revoke_user(name).public())


@router.post("/ingest", response_model=Job, status_code=202, summary="Ingest a snapshot directory on the server")
def start_ingest(body: IngestStart, services: ServicesDep, principal: PrincipalDep) -> Job:
    """Reads only below the ingest root (CRUMBGRAPH_INGEST_ROOT); the report and quarantine go to
    a new folder under the state folder, never where the caller says."""
    from ingest.readers import snapshot_below
    from ingest.report import new_ingest_dir

    snapshot = snapshot_below(services.settings.ingest_root, body.snapshot_dir)
    return Job.model_validate(
        services.jobs.submit_ingest(
            services.stores.get,
            user=principal.name,
            snapshot_dir=snapshot,
            quarantine_dir=new_ingest_dir(services.settings.state_dir),
        )
    )


@router.get("/ingest/{job_id}", response_model=Job, summary="Status and report of an ingest job")
def ingest_job(job_id: str, services: ServicesDep) -> Job:
    return Job.model_validate(services.jobs.get(job_id, "ingest"))


@router.get("/config", response_model=Config, summary="The running configuration, secrets masked")
def config(services: ServicesDep) -> Config:
    return Config.model_validate(services.settings.model_dump(mode="json"))
