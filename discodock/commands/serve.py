"""``discodock serve``: the web page and JSON API, with docking jobs run by background worker processes."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path

from discodock.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--data-dir", default="discodock-jobs",
                   help="folder for the job database and each job's files (default ./discodock-jobs)")
    p.add_argument("--workers", type=int, default=1,
                   help="docking processes, i.e. jobs run at once; each holds one copy of the model (default 1)")
    p.add_argument("--max-upload-mb", type=float, default=50.0, help="largest submission in MB (default 50)")
    p.add_argument("--keep-days", type=float, default=7.0,
                   help="finished jobs and their files are deleted after this many days (default 7)")
    p.add_argument("--max-samples", type=int, default=40, help="most poses a job may ask for (default 40)")
    p.add_argument("--max-queued", type=int, default=100, help="jobs allowed to wait; more get 503 (default 100)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    for flag, value, lo in (("--workers", args.workers, 1), ("--max-samples", args.max_samples, 1),
                            ("--max-queued", args.max_queued, 1)):
        if value < lo:
            raise ConfigError(flag, f"must be at least {lo}, got {value}")
    if args.max_upload_mb <= 0 or args.keep_days < 0:
        raise ConfigError("--max-upload-mb/--keep-days", "must be positive")
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", f"not a port number: {args.port}")
    try:
        import uvicorn

        from discodock.web.app import ServerSettings, create_app
    except ImportError as err:
        raise ConfigError(None, f"discodock serve needs the web extra ({err.name} is missing): "
                                "pip install 'discodock[web]'") from None
    data_dir = Path(args.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(data_dir, f"cannot create the data folder ({err.strerror or err})") from None
    if not _is_loopback(args.host):
        print(f"discodock serve: warning: listening on {args.host}: anyone who can reach this address can submit "
              "jobs and read results; there is no authentication", file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    app = create_app(ServerSettings(data_dir=data_dir, workers=args.workers, max_upload_mb=args.max_upload_mb,
                                    keep_days=args.keep_days, max_samples=args.max_samples,
                                    max_queued=args.max_queued, device=args.device))
    print(f"discodock serve: open http://{args.host if args.host != '0.0.0.0' else '127.0.0.1'}:{args.port}/ "
          f"({args.workers} docking worker(s), jobs in {data_dir})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
