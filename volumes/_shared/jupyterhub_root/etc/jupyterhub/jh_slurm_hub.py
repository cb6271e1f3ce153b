"""
The JupyterHub configuration every environment shares.

Each environment's jupyterhub_config.py (volumes/<env>/jupyterhub_root/)
calls configure() with what differs between environments: which login, how
often to poll a starting server, where the hub API listens. Everything else is here: the Slurm spawner, the
SSH commands through the slurmspawner wrappers and the batch script.

Values that differ between deployments of the same environment (cluster
host name, paths on the cluster, the issuer, ...) arrive as deploy settings:
environment variables from the deploy-config ConfigMap
(config/<env>/deploy-config.yaml; see README.md, "Deploy settings"), each
under the variable the launcher names in its pod facts. The pod facts (the
ConfigMap pod-facts: ports inside the pod, the job output's name) are what
the launcher and this configuration agree on; none is written here
(scripts/lib/pod-facts.ts).

The launcher copies this file into every environment's hub volume
(volumes/_shared/ is laid under volumes/<env>/).
"""

import asyncio
import contextlib
import hmac
import html
import json
import os
import time
from pathlib import Path
from urllib.parse import quote

# Importing batchspawner registers its /hub/api/batchspawner handler, through
# which the job reports the port the single-user server listens on. Import it
# here so that the handler exists before the hub builds its web application.
import batchspawner  # noqa: F401
from batchspawner import JobStatus
from bricsauthenticator import BricsAuthenticator
from bricsauthenticator.spawner import BricsSlurmSpawner
from jupyterhub.handlers import BaseHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Unicode, default

# Files the pod mounts into the hub's srv dir (ssh_key, dev_login_password)
# and the hub's own state (database, cookie secret) live here.
SRV_DIR = Path(os.environ.get("JUPYTERHUB_SRV_DIR", "/srv/jupyterhub"))


def require_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"Environment variable {name} must be set for this JupyterHub configuration")
    return value


def optional_deploy_setting(key: str) -> str:
    """A deploy setting that may be empty or unset."""
    return os.environ.get(deploy_variable(key), "")


def pod_fact(name: str) -> str:
    """
    What the launcher and this configuration agree on (ports inside the pod,
    the job output's name, the deploy settings' variables), from the
    launcher's ConfigMap pod-facts (scripts/lib/pod-facts.ts): never a copy.
    """
    return require_env(f"JH_SLURM_{name}")


def deploy_variable(key: str) -> str:
    """The variable that carries a deploy setting (camelCase key), as the launcher names it."""
    variables = json.loads(pod_fact("DEPLOY_VARIABLES"))
    if key not in variables:
        raise RuntimeError(f"{key} is not a deploy setting of the launcher's (scripts/lib/deploy-config.ts)")
    return variables[key]


def deploy_setting(key: str) -> str:
    """A deploy setting (camelCase key); required."""
    return require_env(deploy_variable(key))


# ----------------------------------------------------------------- logins


def dev_unix_usernames() -> list:
    """<USER>.<PROJECT> accounts of a dev environment (the dev Slurm creates exactly these)."""
    names = require_env("DEV_USER_CONFIG_UNIX_USERNAMES").split()
    for name in names:
        if name.count(".") != 1 or not all(name.split(".")):
            raise RuntimeError(f"DEV_USER_CONFIG_UNIX_USERNAMES entry {name!r} is not of the form <USER>.<PROJECT>")
    return names


def dummy_authenticator():
    """
    BricsAuthenticator whose /login takes the run's dev password instead of an
    OIDC token, then logs in as the <USER> of the first dev account with every
    project that user has an account for, in the auth_state shape
    bricsauthenticator (v0.6.0 and later) makes from a token:
    {"<project>.brics": {"name": <project name>, "username": <Unix user>}}.
    """
    names = dev_unix_usernames()
    login_user = names[0].split(".")[0]
    auth_state = {
        f"{project}.brics": {"name": f"Dev project {project}", "username": name}
        for name in names
        for user, project in [name.split(".")]
        if user == login_user
    }
    # Mounted from a Secret; read at each login, so a missing file disables
    # login instead of crashing the hub.
    password_file = SRV_DIR / "dev_login_password"

    class DummyBricsLoginHandler(BaseHandler):
        def _page(self, message: str = "") -> str:
            # Post back to the same URL so the ?next= argument survives.
            action = html.escape(self.request.uri, quote=True)
            error = f'<p style="color:#b00">{html.escape(message)}</p>' if message else ""
            return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Dev login</title></head>
<body>
<h1>Development login</h1>
<p>Logs in as <b>{html.escape(login_user)}</b> (dummy BriCS authentication).</p>
{error}
<form method="post" action="{action}">
{self.xsrf_form_html()}
<label for="password">Password:</label>
<input type="password" name="password" id="password" autocomplete="current-password" autofocus>
<button type="submit">Log in</button>
</form>
</body></html>
"""

        def get(self):
            self.finish(self._page())

        async def post(self):
            try:
                expected = password_file.read_text().rstrip("\r\n")
            except OSError:
                expected = ""
            if not expected:
                self.log.error("Dev login refused: password file %s missing or empty", password_file)
                self.set_status(403)
                self.finish(self._page(f"Login is disabled: the password file {password_file} is missing."))
                return
            given = self.get_body_argument("password", default="")
            if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
                self.log.warning("Dev login: wrong or missing password from %s", self.request.remote_ip)
                self.set_status(403)
                self.finish(self._page("Wrong password."))
                return
            user = await self.auth_to_user({"name": login_user, "auth_state": auth_state})
            self.set_login_cookie(user)
            self.redirect(self.get_next_url(user))

    class DummyBricsAuthenticator(BricsAuthenticator):
        def get_handlers(self, app):
            return [("/login", DummyBricsLoginHandler)]

    return DummyBricsAuthenticator


def oidc_authenticator():
    """
    BricsAuthenticator as the pinned release has it, plus what upstream's
    environments ask of it that v0.7.0 lacks (a newer release that has them
    is used as it is):
    - groups: with Authenticator.manage_groups, JupyterHub requires the login
      to name the user's groups, and v0.7.0 names none. The login handler
      takes them from the token's "groups" claim, read from the token the
      same handler has just verified; a token without one gives no groups.
    - logout_redirect_url: after the hub's logout, the browser goes there
      (the authenticating proxy's sign-out, which ends the identity
      provider's session too).
    """
    from bricsauthenticator.auth import BricsLoginHandler
    from jupyterhub.handlers.login import LogoutHandler
    from traitlets import Unicode

    class GroupsLoginHandler(BricsLoginHandler):
        def _decode_jwt(self, *args, **kwargs):
            self._verified_claims = super()._decode_jwt(*args, **kwargs)
            return self._verified_claims

        async def auth_to_user(self, authenticated, user=None):
            claims = getattr(self, "_verified_claims", None)
            if self.authenticator.manage_groups and "groups" not in authenticated and claims is not None:
                groups = claims.get("groups") or []
                authenticated = {**authenticated, "groups": [g for g in groups if isinstance(g, str)]}
            return await super().auth_to_user(authenticated, user)

    class RedirectingLogoutHandler(LogoutHandler):
        async def render_logout_page(self):
            url = self.authenticator.logout_redirect_url
            if url:
                self.redirect(url)
            else:
                await super().render_logout_page()

    native_logout = "logout_redirect_url" in BricsAuthenticator.class_traits()

    class OidcAuthenticator(BricsAuthenticator):
        if not native_logout:
            logout_redirect_url = Unicode("", help="Where the browser goes after the hub's logout").tag(config=True)

        def get_handlers(self, app):
            handlers = [
                (path, GroupsLoginHandler if handler is BricsLoginHandler else handler, *rest)
                for path, handler, *rest in super().get_handlers(app)
            ]
            return handlers if native_logout else [("/logout", RedirectingLogoutHandler), *handlers]

    return OidcAuthenticator


def configure_oidc(c):
    """BricsAuthenticator: /hub/login verifies the OIDC ID token in the X-Auth-Id-Token header."""
    c.JupyterHub.authenticator_class = oidc_authenticator()
    # The issuer (the tokens' "iss"; the hub fetches its discovery document
    # and JWKS), the platform whose project resources grant access, the
    # expected audience and the clock skew allowed.
    c.BricsAuthenticator.oidc_server = deploy_setting("oidcServer")
    c.BricsAuthenticator.brics_platform = deploy_setting("bricsPlatform")
    c.BricsAuthenticator.jwt_audience = deploy_setting("jwtAudience")
    c.BricsAuthenticator.jwt_leeway = float(deploy_setting("jwtLeeway"))
    # Logout as upstream's: the hub's logout, then the authenticating proxy's
    # sign-out (the login front's in the dev environments), which ends the
    # identity provider's session too, then back to the hub, which asks for
    # a login again. An invalid token sends the user to the hub's logout
    # (bricsauthenticator v0.8.0 on; the pinned v0.7.0 has no such trait).
    base_url = deploy_setting("baseUrl")
    c.BricsAuthenticator.logout_redirect_url = f"{base_url}_oidc/sign_out?rd={quote(base_url, safe='')}"
    if "invalid_jwt_logout" in BricsAuthenticator.class_traits():
        c.BricsAuthenticator.invalid_jwt_logout = True


# ----------------------------------------------------------------- spawner


def job_output(job) -> str:
    """A job's output file in its home directory, as the batch script's --output names it (%j: the job id)."""
    return pod_fact("JOB_OUTPUT").replace("%j", str(job))


class JobWatch:
    """
    The job watcher's decisions, apart from Slurm and the clock: fed what each
    round sees, it says whether to ask Slurm about the job and whether the job
    has ended. Until batchspawner has seen the job running it queries the job
    itself, so the watcher asks nothing; from then until the server reports
    its port, only the watcher asks. The job has ended when two queries in a
    row find it gone: one failed ssh round trip is not the job's end.
    """

    GONE_QUERIES = 2

    def __init__(self):
        self.seen_running = False
        self.gone = 0

    def should_query(self, port, is_running) -> bool:
        """Before a query: whether to ask Slurm. is_running() says whether batchspawner saw the job running."""
        self.seen_running = self.seen_running or bool(is_running())
        return not port and self.seen_running

    def job_ended(self, status) -> bool:
        """After a query that left the port unknown: whether the job is gone for good."""
        self.gone = self.gone + 1 if status == JobStatus.NOTFOUND else 0
        return self.gone == self.GONE_QUERIES


def project_gpu_limits() -> dict:
    """
    The deploy setting slurmProjectLimits, as the launcher writes it
    ("<PROJECT>:gpus=<N> ..."): GPUs each project's Slurm account may use at
    a time. Slurm enforces them (the account's QOS); the hub only tells.
    """
    limits = {}
    for entry in optional_deploy_setting("slurmProjectLimits").split():
        project, _, gpus = entry.partition(":gpus=")
        if not gpus.isdigit():
            raise RuntimeError(f"slurmProjectLimits: bad entry {entry!r} (expected <PROJECT>:gpus=<N>)")
        limits[project] = int(gpus)
    return limits


def slurm_account(brics_project: str) -> str:
    """The Slurm account a spawn for a form's project ("project2.brics") is charged to: its project, "project2"."""
    return brics_project.partition(".")[0]


def limits_note(brics_projects, limits: dict) -> str:
    """A line above the spawn form naming the GPU limit of each of the user's projects that has one."""
    known = [(name, limits[slurm_account(name)]) for name in sorted(brics_projects) if slurm_account(name) in limits]
    if not known:
        return ""
    each = "; ".join(f"{html.escape(name)}: at most {gpus} GPU{'' if gpus == 1 else 's'}" for name, gpus in known)
    return f'<p class="project-limits">GPU limits of your projects, for all of a project\'s jobs at a time: {each}.</p>'


def explain_refusal(reason: str, brics_project: str, gpus: str, limits: dict) -> str:
    """What a user reads when Slurm refuses a job: Slurm's reason in plain words, then Slurm's own message."""
    account = slurm_account(brics_project)
    if "QOSGrp" in reason or "AssocGrp" in reason or "accounting/QOS policy" in reason:
        limit = limits.get(account)
        cap = f"at most {limit} GPU{'' if limit == 1 else 's'}" if limit is not None else "fewer GPUs"
        return (
            f"Your project {brics_project} may use {cap} at a time, and this job asked for {gpus}."
            f" Ask for fewer GPUs and start again. (Slurm said: {reason})"
        )
    if "Invalid account" in reason:
        return (
            f"Slurm has no account {account} for project {brics_project} that you may use:"
            f" ask your centre's support to add you to it. (Slurm said: {reason})"
        )
    return f"The job could not be submitted: {reason}"


# Slurm's reasons for a pending job that a user meets most, in words.
PENDING_REASONS = {
    "Resources": "the GPUs it asks for are in use on every node; it starts as soon as a node has them free",
    "Priority": "jobs ahead of it in the queue start first",
    "QOSGrpGRES": "your project's GPUs are all in use (its limit); it starts when one of its jobs ends",
}


def pending_message(reason: str) -> str:
    """The spawn page's progress line for a job waiting in the queue: Slurm's reason in words, then Slurm's own."""
    if not reason or reason == "None":
        return "Pending in queue..."
    words = PENDING_REASONS.get(reason)
    return (
        f"Waiting in Slurm's queue: {words}. (Slurm's reason: {reason})"
        if words
        else f"Waiting in Slurm's queue. (Slurm's reason: {reason})"
    )


def in_thread(function):
    """Awaits function() run to its end on a thread and event loop of its own: cancelling the wait stops not it."""
    return asyncio.get_running_loop().run_in_executor(None, lambda: asyncio.run(function()))


def spawn_error(log_message, user_message):
    """A spawn failure the user reads: JupyterHub shows jupyterhub_message, where a plain error gives a bare 500."""
    error = web.HTTPError(500, "%s", log_message)
    error.jupyterhub_message = user_message
    # JupyterHub 5.4's spawn handler copies an HTTPError's headers.
    error.headers = {}
    return error


class SlurmSpawner(BricsSlurmSpawner):
    """
    BricsSlurmSpawner that says why a spawn failed. A job sbatch refuses comes
    back on the form with sbatch's own message (e.g. "Requested node
    configuration is not available" for more GPUs than the cluster has),
    which the user can submit again. A job that ends before its server
    reports its port fails the spawn at once, naming the job's output file;
    batchspawner alone waits for the port without asking Slurm again, until
    start_timeout.
    """

    pending_reason_cmd = Unicode(
        "",
        help="Command printing why job {job_id} waits (squeue --format=%r), run as the hub's service"
        " user on the login node; empty: the spawn page says only that the job is pending.",
    ).tag(config=True)
    # Seconds between two questions about a pending job's reason, at least
    # (no more often than the job's state is polled: upstream's 15 s in prod).
    PENDING_REASON_EVERY = 3

    submitted_job_id = ""
    # The sbatch in flight, if any (run_command while submit_batch_script runs).
    _sbatch = None
    _submitting = False
    # How long a stopping hub waits for an sbatch in flight to give its job id.
    SUBMISSION_GRACE_SECONDS = 15

    @default("options_form")
    def _options_form_default(self):
        """bricsauthenticator's form, with the GPU limits of the user's projects above it (slurmProjectLimits)."""
        form = super()._options_form_default()

        def with_limits(spawner):
            return limits_note(spawner.brics_projects, project_gpu_limits()) + form(spawner)

        return with_limits

    async def run_command(self, cmd, input=None, env=None):
        """
        batchspawner's, but sbatch runs in a thread: a stopping hub cancels
        every task of its loop, and an sbatch cut short (batchspawner kills
        its ssh) would leave a job submitted whose id no one read. A thread
        runs to its end; the start's cancellation reads the id from it.
        """
        run = super().run_command
        if not self._submitting:
            return await run(cmd, input=input, env=env)
        self._sbatch = in_thread(lambda: run(cmd, input=input, env=env))
        return await asyncio.shield(self._sbatch)

    async def submit_batch_script(self):
        self._submitting = True
        try:
            job_id = await super().submit_batch_script()
        except RuntimeError as error:
            reason = " ".join(str(error).split()) or "no message"
            options = self.user_options or {}
            explained = explain_refusal(
                reason, options.get("brics_project", ""), options.get("ngpus", "?"), project_gpu_limits()
            )
            raise spawn_error(f"job submission failed: {reason}", explained) from error
        finally:
            self._submitting = False
        # batchspawner forgets the job when it finds it gone; its output file is still to be named.
        self.submitted_job_id = job_id or ""
        return job_id

    async def progress(self):
        """batchspawner's progress, with Slurm's reason for a pending job on the spawn page."""
        reason, asked = "", float("-inf")
        while True:
            if self.state_ispending():
                if time.monotonic() - asked >= max(self.PENDING_REASON_EVERY, self.startup_poll_interval):
                    asked = time.monotonic()
                    reason = await self._pending_reason()
                yield {"message": pending_message(reason)}
            elif self.state_isrunning():
                yield {"message": "Cluster job running... waiting to connect"}
                return
            else:
                yield {"message": "Unknown status..."}
            await asyncio.sleep(1)

    async def _pending_reason(self) -> str:
        """Why the job waits, as squeue says (Resources, QOSGrpGRES, ...); empty when not known."""
        if not self.pending_reason_cmd or not self.job_id:
            return ""
        try:
            return (await self.run_command(self.pending_reason_cmd.format(job_id=self.job_id))).strip()
        except RuntimeError as error:
            self.log.warning("Could not ask Slurm why job %s waits: %s", self.job_id, error)
            return ""

    async def start(self):
        self.submitted_job_id = ""
        starting = asyncio.ensure_future(super().start())
        watching = asyncio.ensure_future(self._fail_when_job_ends())
        try:
            await asyncio.wait({starting, watching}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                # The job's end, or (the port known) nothing: then start is about to return.
                watching.result()
            return await starting
        except RuntimeError as error:
            # batchspawner's own finding: the job "disappeared ... or died immediately after starting".
            if "disappeared" not in str(error) or not self.submitted_job_id:
                raise
            raise self._job_ended() from error
        except asyncio.CancelledError:
            await self._end_job_of_cancelled_start()
            raise
        finally:
            # Both end before start does: a query cut short must not act on a server that started.
            for task in (starting, watching):
                task.cancel()
            await asyncio.gather(starting, watching, return_exceptions=True)

    async def _end_job_of_cancelled_start(self):
        """
        A start cut short by the hub stopping (apply restarts it): the next hub
        would not know the job, which would run on unseen, its server without
        a route. Cancel it; the user starts the server again.
        """
        if self._sbatch is not None and not self.job_id:
            # sbatch was under way: its job exists (or is about to), its id in sbatch's output.
            await asyncio.wait({self._sbatch}, timeout=self.SUBMISSION_GRACE_SECONDS)
            if self._sbatch.done() and not self._sbatch.cancelled() and self._sbatch.exception() is None:
                with contextlib.suppress(ValueError, IndexError):  # parse_job_id has logged it
                    self.job_id = self.parse_job_id(self._sbatch.result())
        if self.job_id:
            self.log.info("Hub stopping while job %s starts: cancelling it", self.job_id)
            await self.cancel_batch_job()

    async def _fail_when_job_ends(self):
        """
        Once batchspawner has seen the job running, queries it until the
        server reports its port; raises when two queries in a row find it gone
        (one failed ssh round trip is not the job's end).
        """
        watch = JobWatch()
        while not self.port:
            await asyncio.sleep(self.startup_poll_interval)
            if not watch.should_query(self.port, lambda: self.job_id and self.state_isrunning()):
                continue
            status = await self.query_job_status()
            if self.port:
                return
            if watch.job_ended(status):
                raise self._job_ended()

    def _job_ended(self):
        job_id = self.submitted_job_id
        output = f"{self.req_homedir}/{job_output(job_id)}"
        return spawn_error(
            f"job {job_id} ended before its server started",
            f"Job {job_id} ended before its notebook server started. Its output says why: {output}"
            f" (on the host running the pod: jh-slurm-pod logs <env> job {job_id})",
        )


class ReadyWaitingSlurmSpawner(SlurmSpawner):
    """
    BricsSlurmSpawner that, once the job has said where its server listens,
    checks every `ready_poll_interval` seconds until the server answers before
    reporting it started. JupyterHub's own check backs off (0.2 s, 0.4 s,
    0.8 s, ... with jitter) and so sees a server up to seconds late; the dev
    environments use this to make a started notebook usable sooner.
    """

    ready_poll_interval = 0.1

    async def start(self):
        ip, port = await super().start()
        url = f"http://{ip}:{port}{self.server.base_url}api"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.http_timeout
        try:
            while time.monotonic() < deadline:
                try:
                    # Any HTTP answer will do; not being able to connect (599) is "not yet".
                    await client.fetch(HTTPRequest(url, request_timeout=2), raise_error=False)
                    break
                except (OSError, HTTPClientError):
                    await asyncio.sleep(self.ready_poll_interval)
        except asyncio.CancelledError:
            await self._end_job_of_cancelled_start()
            raise
        return ip, port


# What sets the environments apart, in named groups for configure():
#   where Slurm runs ...
SLURM_IN_POD = {
    # The pod's own Slurm: jobs share the pod's loopback.
    "hub_bind_host": "127.0.0.1",
}
EXTERNAL_SLURM = {
    # A real cluster: jobs reach the API from elsewhere.
    "hub_bind_host": "0.0.0.0",
}
#   ... and how eagerly a starting server is watched.
DEV_POLLING = {
    "startup_poll_interval": 0.5,
    "poll_interval": 60,
    "wait_ready_fast": True,
    "ssh_multiplex": True,
}
UPSTREAM_POLLING = {
    "startup_poll_interval": 15,
    "poll_interval": 60,
    "wait_ready_fast": False,
    "ssh_multiplex": False,
}


def configure(
    c,
    *,
    authenticator,
    hub_bind_host: str,
    startup_poll_interval: float,
    poll_interval: int,
    wait_ready_fast: bool,
    ssh_multiplex: bool,
):
    """
    authenticator: a class, or "oidc" for BricsAuthenticator with the issuer
    settings. hub_bind_host: where the hub API listens (jobs reach it at the
    hubConnectUrl deploy setting). startup_poll_interval / poll_interval:
    seconds between job state queries while a server starts / runs (each is
    an ssh + squeue round trip to slurmctld). wait_ready_fast: report a
    server started as soon as it answers (ReadyWaitingSlurmSpawner).
    ssh_multiplex: keep one SSH connection to the login node open for 2
    minutes after use and run each command through it (OpenSSH
    ControlMaster), instead of a handshake per command.
    """
    c.JupyterHub.log_level = deploy_setting("logLevel")

    # --------------------------------------------------------------- pages
    # templates/ beside this file: the stock pages with this site's changes
    # (spawn.html: the deploy setting announcement on the spawn page).
    c.JupyterHub.template_paths = [str(Path(__file__).parent / "templates")]
    c.JupyterHub.template_vars = {"spawn_announcement": optional_deploy_setting("announcement")}

    # ------------------------------------------------------------- network
    # The public proxy listens on all interfaces under the deploy setting baseUrl.
    c.JupyterHub.bind_url = f"http://:{pod_fact('PROXY_PORT')}{deploy_setting('baseUrl')}"
    # The proxy's API on a port of its own rather than the default (the
    # public port + 1): dev_realauth's login front listens inside the pod on
    # the environment's port (docs/realauth.md).
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{pod_fact('PROXY_API_PORT')}"
    # Where the pod runs the proxy in a container of its own, it mounts the
    # token of the proxy's API here: the hub then uses that proxy instead of
    # starting one, and its restarts leave the routes to running servers in
    # place (docs/architecture.md, "The proxy").
    proxy_token = SRV_DIR / "proxy_auth_token"
    if proxy_token.is_file():
        c.ConfigurableHTTPProxy.should_start = False
        c.ConfigurableHTTPProxy.auth_token = proxy_token.read_text().strip()
    # Slurm's compute nodes of their own (the deploy setting slurmNodes) run
    # jobs on other hosts of the environment's network: they reach the API
    # there, at hubConnectUrl (the launcher fills it in).
    if optional_deploy_setting("slurmNodes") not in ("", "0"):
        hub_bind_host = "0.0.0.0"
    c.JupyterHub.hub_bind_url = f"http://{hub_bind_host}:{pod_fact('HUB_API_PORT')}"
    c.JupyterHub.hub_connect_url = deploy_setting("hubConnectUrl")
    # Upstream's: the login cookie's signature expires after 12 hours.
    c.JupyterHub.cookie_max_age_days = 0.5
    # Keep Slurm jobs running when the hub stops, so a restarted hub
    # reconnects to them instead of cancelling every user's session.
    c.JupyterHub.cleanup_servers = False

    # ------------------------------------------------------ authentication
    # auth_state carries the user's projects from the authenticator to the
    # spawner (auth_state_hook), persisted encrypted in the hub database with
    # JUPYTERHUB_CRYPT_KEY, which the hub launcher exports.
    require_env("JUPYTERHUB_CRYPT_KEY")
    c.Authenticator.enable_auth_state = True
    # Whoever can authenticate may use the hub (JupyterHub 5 refuses everyone
    # unless some allow rule is configured).
    c.Authenticator.allow_all = True
    if authenticator == "oidc":
        configure_oidc(c)
    else:
        c.JupyterHub.authenticator_class = authenticator

    # ------------------------------------------------------------- spawner
    # BricsSlurmSpawner (SlurmSpawner above): the user picks a project; the
    # job runs as the Unix user <user>.<project> through Slurm.
    c.JupyterHub.spawner_class = ReadyWaitingSlurmSpawner if wait_ready_fast else SlurmSpawner

    # Pass none of the hub's own environment (PATH, LANG, ...) into the job:
    # it would describe the hub container, not the Slurm node. Only what
    # get_env() computes travels, and that list becomes {{keepvars}}.
    c.Spawner.env_keep = []
    # Where the cluster has Jupyter. Prefixed JUPYTERHUB_ so the Slurm side's
    # sudoers (env_keep JUPYTERHUB_*) lets them through `sudo`.
    c.Spawner.environment = {
        "JUPYTERHUB_BRICS_USER_ENV_DIR": deploy_setting("jupyterUserEnvDir"),
        "JUPYTERHUB_BRICS_JUPYTER_DATA_DIR": deploy_setting("jupyterDataDir"),
    }
    c.Spawner.notebook_dir = "~/"
    # Queueing plus starting a server in a job can take a while.
    c.Spawner.start_timeout = 420
    c.Spawner.poll_interval = poll_interval
    c.BatchSpawnerBase.startup_poll_interval = startup_poll_interval

    # sbatch --export passes only {{keepvars}} into the job and srun by
    # default passes only what sbatch exported; --export=ALL makes srun pass
    # the whole batch script environment (including the activated Python).
    c.BatchSpawnerBase.req_srun = "srun --export=ALL"
    # Upstream's: one node, so that the GPUs a user picks are not spread over nodes.
    c.BatchSpawnerBase.req_options = "--nodes=1"

    # Slurm commands run on the cluster's login node: ssh as jupyterspawner,
    # whom sudoers allows to run the slurmspawner wrappers as any job user.
    # {username} is the job's Unix user (<user>.<project>).
    ssh_key = SRV_DIR / "ssh_key"
    if not ssh_key.is_file():
        raise RuntimeError(f"SSH private key for reaching the Slurm login node not found at {ssh_key}")
    ssh_host = deploy_setting("sshHostname")
    # BatchMode: never prompt (an unknown or changed host key is an error, in the hub log).
    multiplex = (
        "-o ControlMaster=auto -o ControlPath=/tmp/jh-slurm-ssh-%C -o ControlPersist=120 " if ssh_multiplex else ""
    )
    ssh = f"ssh -o BatchMode=yes {multiplex}-i {ssh_key} jupyterspawner@{ssh_host}"
    c.BatchSpawnerBase.exec_prefix = f"{ssh} sudo -u {{username}}"
    # Why a job waits, for the spawn page: squeue as the service user (any user may read the queue).
    c.SlurmSpawner.pending_reason_cmd = f"{ssh} squeue --noheader --format=%r --jobs={{job_id}}"

    wrappers = deploy_setting("slurmSpawnerWrappersBin")
    # ssh does not forward the environment, so pass each variable in keepvars
    # to the remote `sudo` as VAR=value arguments. The command runs in a shell
    # on the hub side with the job environment (get_env()), so:
    #   {{var}}="'${VAR}'"  the hub shell expands ${VAR} inside the double
    #                       quotes and keeps the single quotes, which protect
    #                       the value from the remote login shell.
    # (Values must not contain single quotes; JupyterHub's do not.)
    c.BatchSpawnerBase.batch_submit_cmd = (
        "{% for var in keepvars.split(',') %}"
        "{{ var }}=\"'${{ '{' ~ var ~ '}' }}'\" "
        "{% endfor %}"
        f"{wrappers}/slurmspawner_sbatch"
    )
    # The wrappers take no arguments (sudoers allows exact command lines):
    # the job id travels as SLURMSPAWNER_JOB_ID, an assignment sudo applies.
    c.BatchSpawnerBase.batch_query_cmd = f"SLURMSPAWNER_JOB_ID={{{{job_id}}}} {wrappers}/slurmspawner_squeue"
    c.BatchSpawnerBase.batch_cancel_cmd = f"SLURMSPAWNER_JOB_ID={{{{job_id}}}} {wrappers}/slurmspawner_scancel"

    # batchspawner 1.3's SlurmSpawner script plus: the GPUs the user picked
    # (every environment's Slurm has GPUs), activation of the user environment,
    # and Jupyter data files from the cluster's data directory. <JOB_OUTPUT>
    # stands for the output file's name (with Slurm's %j for the job id).
    batch_script = """#!/bin/bash
#SBATCH --output={{homedir}}/<JOB_OUTPUT>
#SBATCH --job-name=spawner-jupyterhub
#SBATCH --chdir={{homedir}}
#SBATCH --export={{keepvars}}
#SBATCH --get-user-env=L
{% if partition  %}#SBATCH --partition={{partition}}
{% endif %}{% if runtime    %}#SBATCH --time={{runtime}}
{% endif %}{% if memory     %}#SBATCH --mem={{memory}}
{% endif %}{% if gres       %}#SBATCH --gres={{gres}}
{% endif %}{% if ngpus      %}#SBATCH --gpus={{ngpus}}
{% endif %}{% if nprocs     %}#SBATCH --cpus-per-task={{nprocs}}
{% endif %}{% if reservation%}#SBATCH --reservation={{reservation}}
{% endif %}{% if options    %}#SBATCH {{options}}{% endif %}

set -eo pipefail

# The user environment is a venv (bin/activate) or a conda environment
# (put first on PATH). Activate before `set -u`: activate scripts use unset
# variables.
if [ -f "${JUPYTERHUB_BRICS_USER_ENV_DIR}/bin/activate" ]; then
  source "${JUPYTERHUB_BRICS_USER_ENV_DIR}/bin/activate"
else
  export CONDA_PREFIX="${JUPYTERHUB_BRICS_USER_ENV_DIR}"
  export PATH="${JUPYTERHUB_BRICS_USER_ENV_DIR}/bin:${PATH}"
fi

set -u

export JUPYTER_PATH="${JUPYTERHUB_BRICS_JUPYTER_DATA_DIR}${JUPYTER_PATH:+:${JUPYTER_PATH}}"

trap 'echo SIGTERM received' TERM
{{prologue}}
{% if srun %}{{srun}} {% endif %}{{cmd}}
echo "jupyterhub-singleuser ended gracefully"
{{epilogue}}
"""
    c.BatchSpawnerBase.batch_script = batch_script.replace("<JOB_OUTPUT>", job_output("%j"))
