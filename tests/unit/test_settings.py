"""Settings: read from the environment and .env, checked at start-up, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import SettingsError
from pipeline.settings import ENV, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    assert [v for v in ENV.values() if f"\n{v}=" not in text] == []


def test_dotenv_then_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("COMMS_SMTP_PORT=2525\nCOMMS_TIMEZONE=Europe/London\nCOMMS_FILE_CHANNELS=facebook, x\n")
    s = load_settings(environ={"COMMS_SMTP_PORT": "587"}, env_file=env_file)
    assert s.smtp_port == 587 and s.file_channels == ("facebook", "x")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COMMS_TIMEZONE": "Mars/Olympus"}, "not a known timezone"),
        ({"COMMS_DATABASE_URL": "mysql://x"}, "must be sqlite"),
        ({"COMMS_SMTP_SECURITY": "ssl3"}, "use none, starttls or tls"),
        ({"COMMS_SMTP_PORT": "abc"}, "must be a whole number"),
        ({"COMMS_SMTP_PASSWORD": "p", "COMMS_SMTP_HOST": "smtp.example.org"}, "would send it in clear"),
        ({"COMMS_MISFIRE_GRACE_SECONDS": "1"}, "loses runs on restart"),
    ],
)
def test_bad_settings_say_what_to_change(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=env, env_file=None)


def test_secrets_are_redacted() -> None:
    s = load_settings(
        environ={"COMMS_SMTP_PASSWORD": "hunter2", "COMMS_SECRET_KEY": "k", "COMMS_SMTP_SECURITY": "tls"}, env_file=None
    )
    shown = s.redacted()
    assert shown["smtp_password"] == "(set)" and "hunter2" not in str(shown) and "hunter2" not in repr(s)


def test_every_credential_setting_is_treated_as_secret() -> None:
    from pipeline.settings import SECRET_FIELDS, Settings

    looks_secret = {
        name
        for name in Settings.model_fields
        if name.endswith(("_token", "_password", "_secret", "_api_key", "secret_key"))
    }
    assert looks_secret == set(SECRET_FIELDS)
    values = {f"COMMS_{name.upper()}": f"value-of-{name}" for name in looks_secret}
    s = load_settings(environ={**values, "COMMS_SMTP_SECURITY": "tls"}, env_file=None)
    assert not any(v in str(s.redacted()) or v in repr(s) for v in values.values())


def test_a_channel_can_have_its_own_account() -> None:
    s = load_settings(
        environ={
            "COMMS_FACEBOOK_PAGE_ID": "111",
            "COMMS_FACEBOOK_PAGE_TOKEN": "council-token",
            "COMMS_CHANNEL__PREVENT_FACEBOOK__FACEBOOK_PAGE_ID": "222",
            "COMMS_CHANNEL__PREVENT_FACEBOOK__FACEBOOK_PAGE_TOKEN": "prevent-token",
            "COMMS_CHANNEL__STRONGER_TOGETHER__MAIL_FROM": "Stronger Together <hello@strongertogether.example>",
            "COMMS_CHANNEL__STRONGER_TOGETHER__SMTP_POOL_SIZE": "4",
        },
        env_file=None,
    )
    assert s.for_channel("facebook").facebook_page_id == "111"
    prevent = s.for_channel("prevent-facebook")
    assert (prevent.facebook_page_id, prevent.facebook_page_token) == ("222", "prevent-token")
    partner = s.for_channel("stronger-together")
    assert partner.mail_from.startswith("Stronger Together") and partner.smtp_pool_size == 4
    shown = s.redacted()
    assert shown["PREVENT_FACEBOOK.facebook_page_token"] == "(set)" and "prevent-token" not in str(shown)
    assert "prevent-token" not in repr(s)


@pytest.mark.parametrize(
    "var", ["COMMS_CHANNEL__FACEBOOK__DATABASE_URL", "COMMS_CHANNEL__FACEBOOK", "COMMS_CHANNEL____X_TOKEN"]
)
def test_a_per_channel_setting_that_cannot_be_is_refused(var: str) -> None:
    with pytest.raises(SettingsError, match="COMMS_CHANNEL__<CODE>__<SETTING>"):
        load_settings(environ={var: "x"}, env_file=None)


def test_a_channels_own_settings_are_checked_too() -> None:
    with pytest.raises(SettingsError, match=r"channel PARTNERS .*COMMS_SMTP_SECURITY=none would send it in clear"):
        load_settings(
            environ={
                "COMMS_CHANNEL__PARTNERS__SMTP_HOST": "smtp.partners.example",
                "COMMS_CHANNEL__PARTNERS__SMTP_PASSWORD": "pw",
            },
            env_file=None,
        )


def test_the_example_env_file_loads() -> None:
    assert load_settings(environ={}, env_file=ROOT / ".env.example").file_channels == ("*",)


def test_an_unknown_setting_in_the_env_file_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("COMMS_SMTP_PORT=587\nCOMMS_SMPT_HOST=mail.example.org\nOTHER_TOOL_SETTING=1\n")
    with pytest.raises(
        SettingsError, match=r"COMMS_SMPT_HOST in .*\.env is not a setting; did you mean COMMS_SMTP_HOST\?"
    ):
        load_settings(environ={}, env_file=env_file)


def test_other_comms_variables_in_the_environment_are_left_alone() -> None:
    s = load_settings(environ={"COMMS_TEST_POSTGRES_URL": "postgresql://x", "COMMS_SMTP_PORT": "587"}, env_file=None)
    assert s.smtp_port == 587


def test_the_model_reads_the_environment_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.settings import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMS_SMTP_PORT", "2526")
    monkeypatch.setenv("COMMS_FILE_CHANNELS", "facebook, x")
    s = Settings()
    assert (s.smtp_port, s.file_channels) == (2526, ("facebook", "x"))


@pytest.mark.parametrize(
    ("env", "overrides", "message"),
    [
        ({"COMMS_SMTP_PORT": "abc"}, {}, "COMMS_SMTP_PORT='abc' must be a whole number"),
        ({"COMMS_SMTP_PORT": "70000"}, {}, "COMMS_SMTP_PORT='70000' must be a port number, 1-65535"),
        ({"COMMS_FEED_TIMEOUT_SECONDS": "soon"}, {}, "COMMS_FEED_TIMEOUT_SECONDS='soon' must be a number"),
        ({"COMMS_FEED_TIMEOUT_SECONDS": "0"}, {}, "COMMS_FEED_TIMEOUT_SECONDS='0' must be more than 0"),
        ({"COMMS_FEED_WORKERS": "0"}, {}, "COMMS_FEED_WORKERS='0' must be at least 1"),
        (
            {"COMMS_CHANNEL__PARTNERS__SMTP_PORT": "x"},
            {},
            "COMMS_CHANNEL__PARTNERS__SMTP_PORT='x' must be a whole number",
        ),
        ({"COMMS_CHANNEL__PARTNERS__SMTP_SECURITY": "ssl"}, {}, "COMMS_CHANNEL__PARTNERS__SMTP_SECURITY='ssl' is not"),
        ({}, {"workspace": 3}, "COMMS_WORKSPACE=3 must be a path"),
        ({}, {"file_channels": 5}, "COMMS_FILE_CHANNELS=5 must be a list of channel codes"),
        ({}, {"mail_from": None}, "COMMS_MAIL_FROM=None must be text"),
    ],
)
def test_a_bad_value_of_each_type_gives_one_line_naming_the_variable(
    env: dict[str, str], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env, env_file=None, **overrides)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"COMMS_SMTP_POOL_SIZE": "0", "COMMS_MISFIRE_GRACE_SECONDS": "1"}, env_file=None)
    assert "COMMS_SMTP_POOL_SIZE='0'" in str(caught.value) and "COMMS_MISFIRE_GRACE_SECONDS='1'" in str(caught.value)


@pytest.mark.parametrize(
    ("env", "overrides"),
    [
        ({}, {"smtp_password": 987654321}),
        ({}, {"secret_key": 987654321}),
        ({"COMMS_SMTP_PASSWORD": "987654321", "COMMS_SMTP_HOST": "smtp.example.org"}, {}),
        ({"COMMS_CHANNEL__P__SMTP_PASSWORD": "987654321", "COMMS_CHANNEL__P__SMTP_HOST": "smtp.example.org"}, {}),
    ],
)
def test_a_secrets_bad_value_is_never_shown(env: dict[str, str], overrides: dict[str, object]) -> None:
    import traceback

    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env, env_file=None, **overrides)
    shown = "".join(traceback.format_exception(caught.value))
    assert "987654321" not in shown and "COMMS_" in str(caught.value)


def test_a_secret_is_not_shown_by_the_model_either() -> None:
    from pydantic import ValidationError

    from pipeline.settings import Settings

    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, smtp_password=987654321)
    assert "987654321" not in str(caught.value)
