"""The ``tokensync`` command: ``run``, ``sandbox`` and ``cloud-emulator``.

Each subcommand's work lives in its own module; this file only parses arguments,
so that ``tokensync --help`` stays fast and imports nothing heavy.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokensync",
        description="Keeps Alibaba Cloud credentials fresh in Kubernetes Secrets.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the operator against a cluster (kubeconfig or in-cluster)")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", dest="namespaces", default=[], metavar="NS",
                       help="watch this namespace (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (default)")
    run.add_argument("--metrics-port", type=int, default=8080, help="Prometheus /metrics port (0: off)")
    run.add_argument("--health-port", type=int, default=8081, help="/healthz and /readyz port (0: off)")
    run.add_argument("--log-format", choices=["json", "text"], default="text")
    run.add_argument("--verbose", action="store_true", help="debug logging")
    run.add_argument("--leader-election", choices=["auto", "on", "off"], default="auto",
                     help="only the holder of a Lease acts, so several replicas are safe "
                          "(auto: on when POD_NAMESPACE is set, as in the Helm chart)")
    run.add_argument("--cloud-rate-limit", type=_positive_rate, default=20.0,
                     metavar="N", help="at most N cloud requests per second per endpoint, in bursts of up to N "
                                       "(default %(default)s; raise it to the API quota for thousands of tokens)")
    run.add_argument("--allow-namespaced-rrsa", action="store_true",
                     help="let a namespaced CloudAccess use auth.rrsa, i.e. sign in as this operator's own RAM "
                          "role (off: only a ClusterCloudAccess may; like cert-manager's "
                          "--issuer-ambient-credentials)")
    run.add_argument("--leader-election-namespace", default=None, metavar="NS",
                     help="namespace of the Lease tokensync-leader (default: POD_NAMESPACE)")

    sandbox = commands.add_parser("sandbox", help="the whole product on this machine, with no cluster or cloud")
    sandbox.add_argument("--kubeconfig", default=None, metavar="PATH",
                         help="where to write the emulated cluster's kubeconfig (default: under the temp dir)")
    sandbox.add_argument("--exit-after-demo", action="store_true",
                         help="print what was made and stop, instead of running until Ctrl-C")

    emulator = commands.add_parser("cloud-emulator",
                                   help="a local Alibaba Cloud (EIAM, IMS, STS) that checks signatures")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=0, help="0: any free port")
    emulator.add_argument("--state", default=None, metavar="FILE", help="YAML or JSON state (default: the demo state)")
    return parser


def _positive_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of requests per second")
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "cloud-emulator":
        from tokensync.emulators.cloud.server import serve_forever

        return serve_forever(host=args.host, port=args.port, state_file=args.state)
    if args.command == "sandbox":
        from tokensync.sandbox import run_sandbox

        return run_sandbox(kubeconfig=args.kubeconfig, exit_after_demo=args.exit_after_demo)
    from tokensync.api.cloud_access import DEFAULT_RRSA_TOKEN_FILE
    from tokensync.cloud.rpc import ClientSettings
    from tokensync.controllers.access_resolver import NamespacedRrsa
    from tokensync.runtime.main import leader_election_from, run_operator

    return run_operator(
        namespaces=args.namespaces,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        log_format=args.log_format,
        verbose=args.verbose,
        leader_election=leader_election_from(args.leader_election, args.leader_election_namespace),
        cloud_settings=ClientSettings(rate_limit_per_second=args.cloud_rate_limit,
                                      rate_limit_burst=max(1, int(args.cloud_rate_limit))),
        namespaced_rrsa=NamespacedRrsa(token_file=os.environ.get("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
                                       or DEFAULT_RRSA_TOKEN_FILE) if args.allow_namespaced_rrsa else None,
    )


if __name__ == "__main__":
    sys.exit(main())
