"""Factors of the cn-2025.1 factor set recomputed by hand from their published sources, for expected values.

Every constant is the arithmetic printed in the source column of the factor-set data files:
- electricity: MEE/NBS CO2 factors 2023 (average 0.5306, residual 0.6096); MEE/NBS/NEA footprint factors
  2023 (0.6205; wind 0.0336; PV 0.0545) and 2024 (0.5777)
- fuels: GB/T 32150-2015 Table B.1 (NCV, carbon content, oxidation); IPCC 2006 Vol. 2 Tables 2.2/2.3 (CH4, N2O)
- GWP100: IPCC AR6 (CO2 1, CH4 fossil 29.8, N2O 273, CF4 7380, C2F6 12400, SF6 25200)
"""

C_TO_CO2 = 44 / 12
GWP_CH4_FOSSIL, GWP_N2O, GWP_CF4, GWP_C2F6, GWP_SF6 = 29.8, 273, 7380, 12400, 25200

LC_AVERAGE_2023 = 0.6205
LC_AVERAGE_2024 = 0.5777  # MEE/NBS/NEA 2024 national average (announced 2025-09-28)
RESIDUAL_2023 = 0.6205 * 0.6096 / 0.5306  # = 0.712885 kg CO2e/kWh
WIND_2023, PV_2023 = 0.0336, 0.0545


def combustion(ncv_gj, carbon_t_per_tj, oxidation, ch4_kg_per_tj, n2o_kg_per_tj):
    """kg CO2e per unit burned: NCV x CC x OF x 44/12 (kg CO2, since GJ x t C/TJ = kg C) + CH4 + N2O."""
    tj = ncv_gj / 1000
    return (
        ncv_gj * carbon_t_per_tj * oxidation * C_TO_CO2
        + tj * ch4_kg_per_tj * GWP_CH4_FOSSIL
        + tj * n2o_kg_per_tj * GWP_N2O
    )


COAL_SUPPLY = (18 + 2.5) * 0.67 * GWP_CH4_FOSSIL  # kg CO2e per t raw coal (IPCC Tier 1 underground mining)
NATURAL_GAS_INDUSTRY = combustion(0.038931, 15.30, 0.99, 1, 0.1)  # per m3, no upstream in the set
DIESEL_INDUSTRY = combustion(42.652, 20.20, 0.98, 3, 0.6)  # per t, no upstream in the set
BITUMINOUS_INDUSTRY = combustion(19.570, 26.18, 0.93, 10, 1.5) + COAL_SUPPLY  # per t, with mining CH4
