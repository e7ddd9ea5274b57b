from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.core.config import DEFAULT_OPTIONS_FILE
from app.services.options import OptionsCatalog, OptionsFileError

VALID_OPTION = """
  - id: eu-standard
    name: EU Standard
    from_country: CN
    logistics: ["CJPacket Ordinary"]
    destinations: [DE, FR]
    eta_days: {min: 8, max: 15}
    static_rates:
      DE: {first_item: "8.00", additional_item: "1.00"}
      FR: {first_item: "8.50"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "options.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TestDefaultFile:
    def test_ships_the_three_default_options(self) -> None:
        catalog = OptionsCatalog.load(DEFAULT_OPTIONS_FILE)
        names = {o.id: (o.name, o.eta_days.min, o.eta_days.max) for o in catalog.options}
        assert names == {
            "us-standard": ("US Standard", 5, 7),
            "us-expedited": ("US Expedited", 3, 4),
            "ca-standard": ("Canada Standard", 7, 12),
        }
        assert [o.id for o in catalog.serving("us")] == ["us-standard", "us-expedited"]
        assert catalog.serving("DE") == []


class TestValidation:
    def test_a_valid_file_loads(self, tmp_path: Path) -> None:
        catalog = OptionsCatalog.load(write(tmp_path, "options:" + VALID_OPTION))
        option = catalog.get("eu-standard")
        assert option is not None
        assert option.static_rates["DE"].price(3) == Decimal("10.00")
        assert option.static_rates["FR"].price(2) == Decimal("8.50")

    def test_error_names_file_option_and_field(self, tmp_path: Path) -> None:
        broken = VALID_OPTION.replace("from_country: CN", "from_country: China")
        path = write(tmp_path, "options:" + broken)
        with pytest.raises(OptionsFileError) as caught:
            OptionsCatalog.load(path)
        message = str(caught.value)
        assert str(path) in message
        assert "option 'eu-standard', field from_country" in message

    def test_destination_without_static_rate_is_refused(self, tmp_path: Path) -> None:
        broken = VALID_OPTION.replace('      FR: {first_item: "8.50"}\n', "")
        with pytest.raises(OptionsFileError, match="static_rates has no entry for FR"):
            OptionsCatalog.load(write(tmp_path, "options:" + broken))

    def test_a_static_price_of_zero_needs_free(self, tmp_path: Path) -> None:
        zero = VALID_OPTION.replace('first_item: "8.50"', 'first_item: "0"')
        with pytest.raises(OptionsFileError, match="static_rates for FR charge nothing"):
            OptionsCatalog.load(write(tmp_path, "options:" + zero))
        free = zero.replace("    eta_days", "    free: true\n    eta_days")
        assert OptionsCatalog.load(write(tmp_path, "options:" + free)).options[0].free

    def test_duplicate_ids_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(OptionsFileError, match="used twice"):
            OptionsCatalog.load(write(tmp_path, "options:" + VALID_OPTION + VALID_OPTION))

    def test_currency_needs_an_exchange_rate(self, tmp_path: Path) -> None:
        text = "options:" + VALID_OPTION.replace("    eta_days", "    currency: EUR\n    eta_days")
        with pytest.raises(OptionsFileError, match="EUR has no exchange rate"):
            OptionsCatalog.load(write(tmp_path, text))

    def test_missing_file_and_bad_yaml(self, tmp_path: Path) -> None:
        with pytest.raises(OptionsFileError, match="cannot read"):
            OptionsCatalog.load(tmp_path / "missing.yaml")
        with pytest.raises(OptionsFileError, match="not valid YAML"):
            OptionsCatalog.load(write(tmp_path, "options: [unclosed"))
