"""The command table and what every handler module shares.

A handler gets (ctx, cmd): cmd is an atparse.Command; ctx (core.Ctx) gives .emu, .state,
.out(bytes) for response lines, .final(bytes) for the final result, .sleep(s) and
.receive(n). A handler that returns without calling final() answers OK; raising
ParamError answers ERROR. To add a command, decorate a function with @handles.
"""

from .atparse import QUERY, SET, ParamError

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
FAIL = b"\r\nFAIL\r\n"

TABLE = {}  # command name (bytes, b"" for plain AT) -> {form: handler}


def handles(*names, form):
    def register(fn):
        for name in names:
            TABLE.setdefault(name, {})[form] = fn
        return fn

    return register


def dispatch(ctx, cmd):
    fn = TABLE.get(cmd.name, {}).get(cmd.form)
    if fn is None:
        raise ParamError("unknown command %r (%s)" % (cmd.name, cmd.form))
    fn(ctx, cmd)


def lines(ctx, *texts):
    ctx.out("".join(t + "\r\n" for t in texts).encode("utf-8", "surrogateescape"))


def label(cmd):
    return cmd.name.decode()


def noisy(ctx, text):
    """text with the answer_noise quirk's bytes right after its first colon (issue 15
    #15: line noise inside an answer); lines() writes them back as the same bytes."""
    noise = ctx.emu.quirks.answer_noise
    if not noise:
        return text
    head, colon, tail = text.partition(":")
    return head + colon + noise.decode("utf-8", "surrogateescape") + tail


def colon(ctx):
    """ ":" or, with the colon_space quirk, ": " (manual 3.2.2.10, 3.2.4.6 examples)."""
    return ": " if ctx.emu.quirks.colon_space else ":"


def need(condition, why):
    if not condition:
        raise ParamError(why)


def need_joined(ctx):
    need(ctx.state.joined is not None, "not joined to an AP")


def need_softap(ctx):
    need(ctx.state.softap_on(), "SoftAP is off (AT+CWMODE_CUR=2 or 3 first)")


# --- _CUR / _DEF: the _DEF forms also write flash, and their query reads flash -------------------
def saves(cmd):
    return cmd.name.endswith(b"_DEF")


def shown(ctx, cmd):
    """The state a query reports: flash for a _DEF query, else the running one."""
    return ctx.emu.flash if saves(cmd) else ctx.state


def targets(ctx, cmd, flash=None):
    """The states a set command changes: the running one, and flash for a _DEF command
    (flash=True: always, False: never)."""
    return (ctx.state, ctx.emu.flash) if (saves(cmd) if flash is None else flash) else (ctx.state,)


def store(ctx, cmd, flash=None, **values):
    """Set values in the targets() of cmd."""
    for st in targets(ctx, cmd, flash):
        for name, value in values.items():
            setattr(st, name, value)


def setting(attr, names, parse, fmt="%s:%d", on_set=None, flash=None):
    """NAME=<value> stores it (see store()), NAME? answers +NAME:<value>."""

    def set_(ctx, cmd):
        value = parse(cmd.nargs(1)[0])
        if on_set:
            on_set(ctx, value)
        store(ctx, cmd, flash, **{attr: value})

    def query(ctx, cmd):
        lines(ctx, fmt % (label(cmd), getattr(shown(ctx, cmd), attr)))

    for name in names:
        TABLE.setdefault(name, {}).update({SET: set_, QUERY: query})
