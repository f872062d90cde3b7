"""`camera-service backup create|restore|inspect` (registered in cli.py); the work is in storage/backup.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from camera_service.config import Settings
from camera_service.storage.backup import BackupError, Layout, create_backup, read_manifest, restore_backup


def configure_backup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="backup_command", required=True)
    create = sub.add_parser("create", help="back up database, keys and config (the service may run)")
    create.add_argument("-o", "--output", type=Path, required=True, help="archive (.tar.gz, mode 0600)")
    create.add_argument("--with-media", action="store_true", help="also recordings, snapshots and clips")
    restore = sub.add_parser("restore", help="restore an archive into the data dir (stop the service first)")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--force", action="store_true", help="replace an existing database")
    inspect = sub.add_parser("inspect", help="print an archive's manifest")
    inspect.add_argument("archive", type=Path)


def layout(settings: Settings) -> Layout:
    st = settings.storage
    return Layout(
        data_dir=st.data_dir,
        database=st.database_path,
        media={"recordings": st.recordings_path, "snapshots": st.snapshots_path, "clips": st.clips_path},
    )


def run_backup(args: argparse.Namespace) -> int:
    from camera_service import __version__
    from camera_service.cli import _settings

    settings = _settings(args)
    if args.backup_command != "inspect" and settings.storage.database_engine == "postgresql":
        # The archive format holds one SQLite file; PostgreSQL has its own tools (docs/scale-out.md).
        print(
            "backup: storage.database_url points at PostgreSQL; `camera-service backup` copies the SQLite "
            "database only. Back PostgreSQL up with pg_dump and restore it with pg_restore "
            "(docs/scale-out.md); keep the data dir's keys (secret.key, secrets/) with it.",
            file=sys.stderr,
        )
        return 2
    try:
        if args.backup_command == "create":
            config = Path(args.config or os.environ.get("CAMERA_SERVICE_CONFIG") or "config/default.yaml")
            env = {k: v for k, v in os.environ.items() if k.startswith("CAMERA_SERVICE_")}
            manifest = create_backup(
                layout(settings),
                args.output,
                with_media=args.with_media,
                version=__version__,
                config_file=config,
                environment=env,
            )
            print(f"backup written to {args.output} (schema {manifest['schema']})", file=sys.stderr)
        elif args.backup_command == "restore":
            from camera_service.app import supported_schema

            manifest = restore_backup(
                layout(settings), args.archive, supported=supported_schema(settings), force=args.force
            )
            print(
                f"restored {manifest['files_restored']} files and the database into "
                f"{settings.storage.data_dir}; pending migrations run when the service starts",
                file=sys.stderr,
            )
        else:
            print(json.dumps(read_manifest(args.archive), indent=2))
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    return 0
