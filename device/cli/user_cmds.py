"""Commands on user accounts."""

from __future__ import annotations

import click

from device.accounts import create_user, generate_password, reset_password
from device.cli.context import CliContext, pass_context
from device.db.users import ROLES


@click.group()
def user() -> None:
    """User accounts (operator, reviewer, admin)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", default=None, help="Default: a generated one, printed once.")
@pass_context
def user_add(context: CliContext, username: str, role: str, password: str | None) -> None:
    """Create an account."""
    chosen = password or generate_password()
    create_user(context.box().db, username, role, chosen, actor=context.actor)
    click.echo(f"created {role} {username!r}" + ("" if password else f" with password {chosen}"))


@user.command("passwd")
@click.argument("username")
@pass_context
def user_passwd(context: CliContext, username: str) -> None:
    """Give an account a new generated password (printed once)."""
    chosen = generate_password()
    reset_password(context.box().db, username, chosen, actor=context.actor)
    click.echo(f"new password for {username!r}: {chosen}")


COMMANDS = (user,)
