"""MySQL DSNs: both forms parse, every mistake is named without repeating the password, and the redacted form
is what messages show."""

from __future__ import annotations

import pytest

from verifiers.errors import CaptureError
from verifiers.stores.mysql.dsn import parse_dsn

SECRET = "p@ss:w/rd S3cret"
PLAIN = "hunter2-S3cret"


def test_url_form_with_percent_encoded_password() -> None:
    target = parse_dsn("mysql://backup:p%40ss%3Aw%2Frd%20S3cret@db.internal:3307/app?ssl_ca=/etc/ca.pem")
    assert (target.user, target.password, target.host, target.port, target.database, target.ssl_ca) == (
        "backup", SECRET, "db.internal", 3307, "app", "/etc/ca.pem")
    assert target.redacted() == "mysql://backup:***@db.internal:3307/app"
    assert target.client_options() == {"host": "db.internal", "port": "3307", "user": "backup",
                                       "password": SECRET, "ssl-ca": "/etc/ca.pem", "protocol": "tcp"}
    assert target.connect_kwargs()["ssl"] == {"ca": "/etc/ca.pem"}


def test_key_value_form_with_a_socket() -> None:
    target = parse_dsn(f"unix_socket=/run/mysqld/mysqld.sock user=root password='{SECRET}' database=shop")
    assert (target.unix_socket, target.password, target.database) == ("/run/mysqld/mysqld.sock", SECRET, "shop")
    assert target.redacted() == "mysql://root:***@localhost/shop?unix_socket=/run/mysqld/mysqld.sock"
    assert "protocol" not in target.client_options()
    assert parse_dsn("mariadb://u@h/d").database == "d"


@pytest.mark.parametrize(("dsn", "message"), [
    (f"mysql://u:{SECRET}@h/d", "the DSN is not a valid URL"),
    (f"mysql://u:{PLAIN}@h:99999/d", "the DSN is not a valid URL"),
    (f"postgres://u:{PLAIN}@h/d", "scheme 'postgres' is not one of mysql, mariadb"),
    (f"mysql://u:{PLAIN}@h/", "the DSN names no database"),
    (f"host=h password='{SECRET}' dbname=d port=x", "the DSN's port 'x' is not a number"),
    (f"host=h {PLAIN} database=d", "a part of the DSN is not key=value"),
    (f"host=h pasword={PLAIN} database=d", "unknown DSN parameter 'pasword'"),
    (f"unix_socket=relative.sock password='{SECRET}' database=d", "unix_socket must be an absolute path"),
    ("host=h password='unbalanced database=d", "unbalanced quote"),
])
def test_mistakes_are_named_without_the_password(dsn: str, message: str) -> None:
    with pytest.raises(CaptureError) as info:
        parse_dsn(dsn)
    described = info.value.describe()
    assert message in described
    assert "S3cret" not in described
    assert "mysql://USER:PASSWORD@HOST:PORT/DATABASE" in described
