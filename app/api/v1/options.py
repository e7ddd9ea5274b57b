"""Fulfillment options: what the store can offer at checkout."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContainerDep
from app.api.problems import problem_responses
from app.core.errors import InvalidRequest
from app.schemas.options import OptionList, OptionRead, OptionValidate, OptionValidation
from app.services.options import UnknownOption

router = APIRouter(prefix="/fulfillment-options", tags=["options"])


@router.get("")
async def list_options(container: ContainerDep) -> OptionList:
    return OptionList(options=[OptionRead.of(o) for o in container.options.options])


@router.post("/validate", responses=problem_responses(InvalidRequest, UnknownOption))
async def validate_option(body: OptionValidate, container: ContainerDep) -> OptionValidation:
    option = container.options.require(body.option_id)
    return OptionValidation(valid=True, option=OptionRead.of(option))
