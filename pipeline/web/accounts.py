"""The team's accounts: admins add people, change their role, deactivate them and set new passwords
(`/users`); everyone changes their own password (`/account`). Every change goes through `UserService`,
which keeps the rules: never the last admin demoted or deactivated, never your own account deactivated,
every change in the audit log. A password the workspace makes is shown once, in the answer to the form
that made it, and never stored or sent anywhere else (not in the session cookie, not in a log).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, Field, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from pipeline.errors import CommsError, Invalid, NotAllowed
from pipeline.records import User
from pipeline.services.actor import Role
from pipeline.services.permissions import LEAST_ROLE, Permission
from pipeline.services.users import UserService, check_password, new_password, normalise_email
from pipeline.web.auth import actor, address, ctx, now, renew_stamp, requires
from pipeline.web.forms import ActionForm, sentence

bp = Blueprint("accounts", __name__)
ROLES = [r.value for r in Role]  # labelled by ROLE_LABELS
ROLE_LABELS = {r.value: r.value.capitalize() for r in Role}
LENGTH_ADVICE = "At least 12 characters. Three random words work well, like apple-tractor-lighthouse."


def role_abilities() -> dict[str, str]:
    """What each role may do beyond the role below it, in the words of `pipeline.services.permissions`."""
    out, before = {}, "Can"
    for role in Role:
        gained = [p.value for p, least in LEAST_ROLE.items() if least == role]
        out[role.value] = f"{before} {'; '.join(gained)}"
        before = "Also can"
    return out


def _checked(check: Any) -> Any:
    """A `pipeline.services.users` check as a form validator, so the page says what the service would."""

    def validate(_form: FlaskForm, field: Field) -> None:
        if field.data:
            try:
                check(field.data)
            except Invalid as exc:
                raise ValidationError(sentence(exc)) from None

    return validate


class NewUserForm(FlaskForm):
    email = StringField(
        "Email address",
        validators=[DataRequired("Enter their email address"), Length(max=254), _checked(normalise_email)],
    )
    name = StringField("Full name", validators=[Length(max=200, message="Keep the name under 200 characters")])
    role = RadioField("Role", choices=ROLES, validators=[DataRequired("Choose a role")])
    password = PasswordField(
        "Password (optional)", validators=[Length(max=1024), _checked(check_password)], description=LENGTH_ADVICE
    )
    sso = BooleanField("They sign in with single sign-on only (no workspace password)")


class RoleForm(FlaskForm):
    role = RadioField("Role", choices=ROLES, validators=[DataRequired("Choose a role")])


class AccountPasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password")])
    new = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password"), _checked(check_password)],
        description=LENGTH_ADVICE,
    )
    again = PasswordField("New password again", validators=[DataRequired("Enter the new password again")])

    def validate_again(self, field: Field) -> None:
        if field.data and self.new.data and field.data != self.new.data:
            raise ValidationError("The two new passwords are not the same")


def _service() -> UserService:
    return UserService.of(ctx())


def _user(user_id: int) -> User:
    found = next((u for u in _service().list_users(actor()) if u.id == user_id), None)
    if found is None:
        abort(404, "There is no such account. It may have been typed wrongly.")
    return found


# the list and adding someone ------------------------------------------------------------------------
@bp.route("/users")
@requires(Permission.MANAGE_USERS)
def users() -> str:
    return render_template("web/users.html", title="Users", users=_service().list_users(actor()))


def _new_user_page(form: NewUserForm, status: int, errors: list[tuple[str, str]] | None = None) -> tuple[str, int]:
    return render_template(
        "web/user_new.html",
        title="Add a user",
        form=form,
        errors=errors or [],
        abilities=role_abilities(),
        role_labels=ROLE_LABELS,
        sso=bool(ctx().settings.oidc_issuer),
        error_title=bool(form.errors or errors),
    ), status


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def new_user() -> tuple[str, int]:
    form = NewUserForm()
    if not form.validate_on_submit():
        return _new_user_page(form, 400 if request.method == "POST" else 200)
    sso = bool(form.sso.data and ctx().settings.oidc_issuer)
    typed = form.password.data or ""
    password = None if sso else (typed or new_password())
    try:
        user = _service().add(
            actor(), form.email.data or "", form.role.data or "", now(), name=form.name.data or "", password=password
        )
    except CommsError as exc:
        return _new_user_page(form, 409, [("email", sentence(exc))])
    shown = password if password and not typed else None
    return render_template("web/user_added.html", title="User added", user=user, password=shown, sso=sso), 201


# one account ------------------------------------------------------------------------------------------
def _user_page(user: User, status: int = 200, errors: list[tuple[str, str]] | None = None) -> tuple[str, int]:
    form = RoleForm(data={"role": user.role})
    return render_template(
        "web/user.html",
        title=user.display,
        user=user,
        form=form,
        action=ActionForm(),
        errors=errors or [],
        abilities=role_abilities(),
        role_labels=ROLE_LABELS,
        error_title=bool(errors),
    ), status


@bp.route("/users/<int:user_id>")
@requires(Permission.MANAGE_USERS)
def user(user_id: int) -> tuple[str, int]:
    return _user_page(_user(user_id))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def change_role(user_id: int) -> Response | tuple[str, int]:
    person, form = _user(user_id), RoleForm()
    if not form.validate_on_submit():
        return _user_page(person, 400, [("role", "Choose a role")])
    try:
        changed = _service().set_role(actor(), person.email, form.role.data or "", now())
    except CommsError as exc:
        return _user_page(person, 409, [("role", sentence(exc))])
    flash(f"{changed.display} is now {'an' if changed.role[0] in 'aeiou' else 'a'} {changed.role}.", "success")
    if actor().same_person(changed.email) and changed.role != Role.ADMIN:
        return redirect(url_for("accounts.account"))
    return redirect(url_for("accounts.user", user_id=user_id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def set_active(user_id: int) -> Response | tuple[str, int]:
    person = _user(user_id)
    try:
        changed = _service().set_active(actor(), person.email, not person.active, now())
    except CommsError as exc:
        return _user_page(person, 409, [("", sentence(exc))])
    done = "can sign in again" if changed.active else "is deactivated: they are signed out and cannot sign in"
    flash(f"{changed.display} {done}.", "success")
    return redirect(url_for("accounts.user", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def reset_password(user_id: int) -> tuple[str, int]:
    person = _user(user_id)
    password = new_password()
    try:
        changed = _service().set_password(actor(), person.email, password, now())
    except CommsError as exc:
        return _user_page(person, 409, [("", sentence(exc))])
    if actor().same_person(changed.email):
        renew_stamp()
    return render_template(
        "web/user_added.html", title="New password set", user=changed, password=password, reset=True
    ), 200


# your own account ---------------------------------------------------------------------------------------
@bp.route("/account", methods=["GET", "POST"])
@requires(Permission.VIEW)
def account() -> Response | tuple[str, int]:
    me, form = _service().own_account(actor()), AccountPasswordForm()
    errors: list[tuple[str, str]] = []
    if request.method == "POST" and not me.has_password:
        abort(400, "You sign in through single sign-on, so there is no workspace password to change.")
    if form.validate_on_submit():
        service, moment = _service(), now()
        try:
            service.authenticate(me.email, form.current.data or "", moment, address())
        except NotAllowed as exc:
            form.current.errors = [sentence(exc)]
        else:
            try:
                service.set_password(actor(), me.email, form.new.data or "", moment)
            except CommsError as exc:
                errors.append(("new", sentence(exc)))
            else:
                renew_stamp()
                flash("Your password is changed. You stay signed in here; anywhere else you are signed out.", "success")
                return redirect(url_for("accounts.account"))
    failed = request.method == "POST"
    return render_template(
        "web/account.html",
        title="Your account",
        me=me,
        form=form,
        errors=errors,
        abilities=role_abilities(),
        error_title=failed,
    ), 400 if failed else 200
