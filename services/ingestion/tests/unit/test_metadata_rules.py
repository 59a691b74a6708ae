"""Rules of ingestion's metadata: writes merged into a document, secrets obfuscated and kept, the settings model
carrying its dataset's id, templates, and Qluster's cursor page."""

from __future__ import annotations

import msgspec
import pytest

from headwater.common.contracts.qluster_metadata import (
    DATA_SOURCE_FIELDS,
    DatasetPost,
    DataSourcePost,
    FieldValidation,
    ParseSettings,
)
from headwater.ingestion.domain import metadata as m


def test_a_secret_sent_back_obfuscated_keeps_the_stored_one() -> None:
    stored = {"password": "s3cret", "host": "a"}
    assert m.merged(stored, {"password": m.OBFUSCATED, "host": "b"}, ("password",)) == {
        "password": "s3cret",
        "host": "b",
    }
    assert m.merged(stored, {"password": "new"}, ("password",))["password"] == "new"
    # outside the secrets, the obfuscated text is a value like any other
    assert m.merged(stored, {"host": m.OBFUSCATED}, ("password",))["host"] == m.OBFUSCATED


def test_only_secrets_holding_a_value_are_obfuscated() -> None:
    body = {"password": "x", "s3_secret_key": None, "sftp_password": "", "host": "h"}
    assert m.obfuscated(body, ("password", "s3_secret_key", "sftp_password")) == {
        "password": m.OBFUSCATED,
        "s3_secret_key": None,
        "sftp_password": "",
        "host": "h",
    }


def test_the_settings_model_has_its_datasets_id_and_its_own_version() -> None:
    body = {"settings_model": {"id": 99, "version_id": 7, "dollar_to_cent": True}}
    assert m.with_settings_model(body, 3, 2)["settings_model"] == {
        "id": 3,
        "version_id": 2,
        "dollar_to_cent": True,
    }
    assert m.with_settings_model({}, 3, 0)["settings_model"] == {"id": 3, "version_id": 0}


def test_the_data_source_template_names_every_field_of_003() -> None:
    template = m.data_source_template(DATA_SOURCE_FIELDS)
    assert set(ParseSettings.__struct_fields__) <= set(template)
    assert {"s3_bucket", "sftp_host", "gs_bucket", "dropbox_folder", "schedule"} <= set(template)
    assert (template["state"], template["bad_rows_count"], template["redirect_post_submit_to"]) == (
        "active",
        0,
        "",
    )


@pytest.mark.parametrize(
    ("struct", "body", "reason"),
    [
        (DatasetPost, {"schema_name": "s", "database_name": "d", "table_name": "t"}, "`name`"),
        (DatasetPost, {"name": " ", "schema_name": "s", "database_name": "d", "table_name": "t"}, "name"),
        (DataSourcePost, {"name": "x"}, "`settings_model_id`"),
        (
            DataSourcePost,
            {"name": "x", "settings_model_id": 1, "xls_date_mode_override": "mode_2"},
            "xls_date_mode",
        ),
        (
            DataSourcePost,
            {"name": "x", "settings_model_id": 1, "ignore_matchers_override": {"\u0000": 1}},
            "ignore",
        ),
        (FieldValidation, {"json_schema_field_type": "number", "minimum": 3, "maximum": 1}, "minimum"),
    ],
)
def test_contracts_refuse_what_003_does_not_allow(struct: type, body: dict[str, object], reason: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=reason):
        msgspec.convert(body, struct)


def test_fields_not_sent_stay_unset() -> None:
    post = msgspec.convert({"name": "x", "settings_model_id": 1, "csv_delimiter": ";"}, DataSourcePost)
    assert post.csv_delimiter == ";"
    assert post.pattern is msgspec.UNSET
