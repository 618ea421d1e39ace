"""`blurkit service install --cert/--key`: the page of a service on the office network is
served over HTTPS, as `blurkit serve --cert/--key` serves it (the help's example and the
README's LAN section install it so)."""

from __future__ import annotations

from click.testing import CliRunner

import blurkit.cli.watch  # noqa: F401  (registers the commands)
from blurkit.cli import cli


def test_the_unit_serves_the_page_over_tls_with_absolute_paths(data_dir, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "service", "install",
                                      "--system", "--run-as", "daemon", "--print",
                                      "--host", "0.0.0.0", "--cert", "cert.pem",
                                      "--key", "key.pem"])
    assert result.exit_code == 0, result.output
    exec_line = next(line for line in result.output.splitlines()
                     if line.startswith("ExecStart="))
    assert (f" serve --host 0.0.0.0 --cert {tmp_path / 'cert.pem'} "
            f"--key {tmp_path / 'key.pem'}") in exec_line


def test_cert_and_key_go_together_and_only_with_the_page(data_dir, tmp_path):
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    base = ["--data-dir", str(data_dir), "--lang", "en", "service", "install", "--print"]
    alone = CliRunner().invoke(cli, base + ["--cert", str(tmp_path / "cert.pem")])
    assert alone.exit_code == 2 and "--cert and --key go together" in alone.output
    folder_only = CliRunner().invoke(cli, base + ["--no-web", "--cert", str(tmp_path / "cert.pem"),
                                                  "--key", str(tmp_path / "key.pem")])
    assert folder_only.exit_code == 2 and "leave out --no-web" in folder_only.output
