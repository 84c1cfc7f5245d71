"""The common role's effects, read through the host's own tools, not the role's files."""

import json


def test_one_apt_transaction_installed_base_and_extra_packages(host):
    for name in ("curl", "locales", "unattended-upgrades", "jq", "cron", "logrotate"):
        assert host.package(name).is_installed, name
    assert host.run("jq -n 1").rc == 0


def test_time_zone_is_live(host):
    assert host.check_output("date +%Z") in ("CET", "CEST")
    assert host.check_output("timedatectl show -p Timezone --value") == "Europe/Berlin"


def test_locales_are_usable_and_default(host):
    # setlocale fails for a locale that was not generated.
    for loc in ("en_US.UTF-8", "de_DE.UTF-8"):
        host.run_expect([0], f"LC_ALL={loc} python3 -c 'import locale; locale.setlocale(locale.LC_ALL, \"\")'")
    assert "LANG=en_US.UTF-8" in host.check_output("localectl status")


def test_login_sessions_get_the_open_file_limit(host):
    # runuser -l goes through PAM (pam_limits), as an SSH login does.
    assert host.check_output("runuser -l nobody -s /bin/sh -c 'ulimit -Sn'") == "16384"
    assert host.check_output("runuser -l root -c 'ulimit -Hn'") == "16384"


def test_systemd_manager_runs_with_the_new_default_limit(host):
    # Live manager state: proves systemd was re-executed, not only that a file was written.
    assert host.check_output("systemctl show -p DefaultLimitNOFILESoft --value") == "16384"
    assert host.check_output("systemctl show -p DefaultLimitNOFILE --value") == "524288"
    # A service started after the change runs with it (cron is restarted to prove it).
    host.run_expect([0], "systemctl restart cron")
    pid = host.check_output("systemctl show -p MainPID --value cron")
    limits = host.check_output(f"cat /proc/{pid}/limits")
    assert [line.split()[3] for line in limits.splitlines() if line.startswith("Max open files")] == ["16384"]


def _effective_sysctl(host):
    """The values systemd-sysctl will load at boot: every sysctl.d file in order, the last wins."""
    values = {}
    for line in host.check_output("systemd-analyze cat-config sysctl.d").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip().lstrip("-")] = " ".join(value.split())
    return values


def test_kernel_settings_win_at_boot(host):
    # The container's /proc/sys is read-only (the role says so and skips the live write),
    # so assert what the next boot applies: no other sysctl.d file overrides ours.
    effective = _effective_sysctl(host)
    assert effective["net.core.somaxconn"] == "65535"
    assert effective["vm.swappiness"] == "10"
    assert effective["net.ipv4.ip_local_port_range"] == "1024 65535"


def test_unattended_upgrades_takes_security_updates_only(host):
    periodic = host.check_output("apt-config dump APT::Periodic")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic
    assert 'APT::Periodic::Update-Package-Lists "1";' in periodic
    # unattended-upgrade itself reports the origins it will take.
    dry = host.run("unattended-upgrade --dry-run --debug 2>&1 | grep -m1 'Allowed origins are'")
    assert dry.rc == 0, dry.stdout
    codename = host.system_info.codename
    assert f"codename={codename}-security" in dry.stdout
    assert f"codename={codename}-updates" not in dry.stdout
    assert "label=Debian," not in dry.stdout


def test_upgrade_timers_are_active(host):
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        svc = host.service(timer)
        assert svc.is_enabled and svc.is_running, timer


def test_no_failed_units(host):
    failed = json.loads(host.check_output("systemctl --failed --output=json"))
    assert failed == [], failed

