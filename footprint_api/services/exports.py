"""Exports of a stored footprint for others: the EU CBAM communication."""

import uuid
from functools import lru_cache

from sqlmodel import Session

from footprint_api.errors import Unprocessable
from footprint_api.exports import cbam
from footprint_api.models import InventoryRecord
from footprint_api.security import Principal
from footprint_api.services.footprints import visible_footprint
from lca_models.factor_set import FactorSet, load_factor_set
from pcr_rules.units import convert


@lru_cache(maxsize=4)
def _factor_set(factor_set_id: str) -> FactorSet:
    return load_factor_set(factor_set_id)


def cbam_line(session: Session, principal: Principal, footprint_id: uuid.UUID) -> cbam.CbamLine:
    footprint = visible_footprint(session, principal, footprint_id)
    record = session.get(InventoryRecord, footprint.inventory_id)
    result = footprint.result
    factor = _factor_set(result["factor_set"]["id"]).grid_co2_factor(cbam.grid_factor_scope(),
                                                                      result["reference_year"])
    production = record.data["production"]
    try:
        amount = convert(production["amount"], production["unit"], cbam.good(record.pcr_id)["unit"])
        return cbam.embedded_emissions(result, record.pcr_id, factor, record.data["facility"]["name"], amount)
    except cbam.NotACbamGood as exc:
        raise Unprocessable(str(exc), [{"field": "footprint_id", "reason": "not a CBAM good"}]) from None
