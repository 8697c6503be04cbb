"""The ``qi-coach`` command: one entry point for people, the Makefile and CI.

    qi-coach knowledge check       validate the curated content, write nothing
    qi-coach knowledge load        validate and load it (all or nothing; unchanged = no-op)
    qi-coach knowledge stats       what the database serves, per barrier
    qi-coach knowledge review      write the content review table (docs/content-review.md)
    qi-coach knowledge recommend   strategies for barriers, e.g. time_pressure:0.9
    qi-coach knowledge tool TEXT   find a QI tool by name ("PDSA", "stakeholder map")
    qi-coach knowledge strategy TEXT   find a strategy ("we tried protected time")
    qi-coach spacy build           build and install the project's spaCy pipeline
    qi-coach classify              barriers of each line on stdin, as JSON lines
    qi-coach serve                 start the servers and chat in the terminal
    qi-coach checkins run          send check-ins as they fall due (serve and cluster start it)
    qi-coach checkins list         the check-ins to come, and what became of past ones
    qi-coach insights --out DIR    a QI lead's barrier insights as a folder (page, plots, CSVs)

Exit status: 0 done, 1 the content or database said no, 2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from knowledge.db import database_url, default_engine
from knowledge.validate import CONTENT_DIR, ContentError

REVIEW_TABLE = Path(__file__).resolve().parent.parent / "docs" / "content-review.md"


def _safe_url() -> str:
    return make_url(database_url()).render_as_string(hide_password=True)


class NotLoaded(Exception):
    """The database has no curated content yet."""


def _loaded_store():
    """The store, if the database holds content; else a clear ``NotLoaded``."""
    from knowledge import KnowledgeStore

    engine = default_engine()
    if not inspect(engine).has_table("strategies") or not KnowledgeStore(engine).counts()["strategies"]:
        raise NotLoaded
    return KnowledgeStore(engine)


def cmd_check(args: argparse.Namespace) -> int:
    from knowledge.validate import check_content

    content = check_content(Path(args.content))
    counts = content.counts()
    print("Knowledge content is valid: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from knowledge.load import load_content

    print(f"Loading knowledge into {_safe_url()} ...", flush=True)
    from qi_coach import records
    from qi_coach.channels import dedupe, webchat_sessions

    report = load_content(default_engine(), Path(args.content), force=args.force)
    records.create_tables(default_engine())  # before any server starts: several may share the database
    dedupe.create_tables(default_engine())
    webchat_sessions.Base.metadata.create_all(default_engine())
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.counts.items())
    print(("Loaded: " if report.changed else "Already up to date: ") + counts)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from knowledge.validate import MIN_PRIMARY_STRATEGIES_PER_BARRIER, MIN_STRATEGIES, MIN_TOOLS

    store = _loaded_store()
    counts = store.counts()
    print(", ".join(f"{n} {k}" for k, n in counts.items()))
    print(f"(the library needs at least {MIN_STRATEGIES} strategies, {MIN_TOOLS} tools and "
          f"{MIN_PRIMARY_STRATEGIES_PER_BARRIER} primary strategies per barrier)")
    print("Evidence levels: " + ", ".join(f"{n} {level}" for level, n in store.evidence_counts().items()))
    print(f"\n{'barrier':<28}{'primary':>8}{'secondary':>10}{'total':>7}")
    for barrier, n in store.strategies_per_barrier().items():
        short = "  (below the minimum)" if n["primary"] < MIN_PRIMARY_STRATEGIES_PER_BARRIER else ""
        print(f"{barrier:<28}{n['primary']:>8}{n['secondary']:>10}{n['primary'] + n['secondary']:>7}{short}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from knowledge.review_table import review_markdown
    from knowledge.validate import check_content

    text = review_markdown(check_content(Path(args.content)))
    if args.out == "-":
        print(text, end="")
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Wrote the content review table to {args.out}")
    return 0


def _barrier_arg(text: str) -> tuple[str, float]:
    name, _, conf = text.partition(":")
    try:
        return name, float(conf) if conf else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}': write BARRIER or BARRIER:CONFIDENCE, e.g. time_pressure:0.8") from None


def cmd_recommend(args: argparse.Namespace) -> int:
    from qi_coach.coaching.said import heard, you_said  # noqa: PLC0415 - loads the sentence encoder

    said = heard([args.said]) if args.said else None
    recs = _loaded_store().recommend(dict(args.barriers), levels=args.level, exclude=args.exclude, limit=args.limit,
                                     said=said)
    if not recs:
        print("No strategy fits those barriers with these filters.")
        return 1
    for i, rec in enumerate(recs, 1):
        print(f"{i}. {rec.title}  [score {rec.score:.2f}; {rec.reason_text}]")
        print(textwrap.indent(textwrap.fill(rec.summary, 88), "   "))
        if rec.because_you_said:
            print(f"   Why this for you: {you_said(rec.because_you_said)}")
        print(f"   First step: {rec.first_step}")
        if rec.tools:
            print("   Tools: " + ", ".join(t.name for t in rec.tools))
        print(f"   Evidence: {rec.evidence_label}. Sources: " + "; ".join(s.short for s in rec.sources))
    return 0


def cmd_find(args: argparse.Namespace) -> int:
    store = _loaded_store()
    text = " ".join(args.text)
    lookup = store.find_tool(text) if args.kind == "tool" else store.find_strategies(text)
    print(lookup.message)
    for match in lookup.matches:
        print(f"  {match.score:5.1f}  {match.id:<34} (matched '{match.matched_term}')")
    return 0 if lookup.found else 1


def cmd_classify(args: argparse.Namespace) -> int:
    from qi_coach.classify import NoModel, classify_stream, resolve_model

    try:
        model = resolve_model(args.model)
    except NoModel as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    errors = classify_stream(model, sys.stdin, sys.stdout, with_intent=args.with_intent)
    return 1 if errors else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qi_coach.classify import NoModel, resolve_model
    from qi_coach.evaluation import advice
    from qi_coach.evaluation.corpus import CorpusError
    from qi_coach.evaluation.harness import main

    try:
        if args.advice_only:
            advice.run(resolve_model(args.model), Path(args.out))
            return 0
        return main(args.folds, args.repeats, args.limit, args.skip_cv, Path(args.out),
                    Path(args.model) if args.model else None, compare=not args.no_compare, rasa_cv=args.rasa_cv)
    except (CorpusError, NoModel) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def cmd_spacy_build(args: argparse.Namespace) -> int:
    from qi_coach.spacy_pipeline import build_and_install

    build_and_install(force=args.force)
    return 0


def cmd_plan_export(args: argparse.Namespace) -> int:
    """The latest action plan of one conversation, as Markdown (stdout or a file)."""
    from qi_coach.records import UserRecords

    engine = default_engine()
    if not inspect(engine).has_table("action_plans"):
        raise NotLoaded
    saved = UserRecords(engine).latest_plan(args.conversation_id)
    if saved is None:
        print(f"No action plan for conversation '{args.conversation_id}' in {_safe_url()}.", file=sys.stderr)
        return 1
    text = saved.markdown + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote the plan of {saved.created_at:%Y-%m-%d %H:%M} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from qi_coach import retention

    print(retention.purge(days=args.days).summary())
    return 0


def _days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of days, at least 1 (not {text!r})")
    return int(text)


def cmd_serve(args: argparse.Namespace) -> int:
    from qi_coach.serve import main as serve

    return serve()


def cmd_checkins_run(args: argparse.Namespace) -> int:
    from qi_coach.checkin_scheduler import main as run

    return run(args.url, args.interval, args.once, args.as_of)


def cmd_checkins_list(args: argparse.Namespace) -> int:
    from qi_coach.followup import OPEN_STATES, FollowUps

    engine = default_engine()
    if not inspect(engine).has_table("checkins"):
        raise NotLoaded
    views = FollowUps(engine).listing(None if args.all else OPEN_STATES)
    if not views:
        print("No check-ins to come." if not args.all else "No check-ins yet.")
        return 0
    print(f"{'id':>5}  {'due (UTC)':<17} {'state':<10} {'channel':<8} {'conversation':<28} strategies")
    for view in views:
        reported = sum(c.progress is not None for c in view.commitments)
        titles = "; ".join(c.title for c in view.commitments)
        print(f"{view.id:>5}  {view.due_at:%Y-%m-%d %H:%M} {view.state:<10} {view.channel:<8} "
              f"{view.conversation_id[:28]:<28} {titles[:60]}" + (f" ({reported} reported)" if reported else ""))
    return 0


def cmd_insights(args: argparse.Namespace) -> int:
    from qi_coach.insights import demo, figures, report

    today = datetime.now(timezone.utc).date()
    period = figures.Period.parse(args.start, args.end, today)  # a bad date: ValueError, exit 2
    if args.demo:
        engine = demo.demo_engine(today=today)
    else:
        engine = default_engine()
        if not inspect(engine).has_table("confirmed_barriers"):
            raise NotLoaded
    shown = figures.compute(engine, period, synthetic=args.demo)
    written = report.write_report(shown, Path(args.out), args.format)
    print(report.summary(shown))
    print(f"Wrote {len(written)} files to {args.out}; open {Path(args.out) / 'index.html'}")
    return 0


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date or time like 2026-12-21 or 2026-12-21T09:30 (not {text!r})") \
            from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"a number of seconds from 1 to 3600 (not {text!r})")
    return value


def cmd_cluster(args: argparse.Namespace) -> int:
    from qi_coach.cluster import main as cluster

    return cluster(servers=args.servers, actions=args.actions)


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to 16 (not {text!r})")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qi-coach", description="qi-coach command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    knowledge = commands.add_parser("knowledge", help="the curated knowledge store")
    sub = knowledge.add_subparsers(dest="action", required=True)
    # (classify is added to `commands` below, beside `knowledge`)

    check = sub.add_parser("check", help="validate the content without writing anything")
    check.add_argument("--content", default=str(CONTENT_DIR), help="content folder")
    check.set_defaults(func=cmd_check)

    load = sub.add_parser("load", help="validate and load the content (all or nothing)")
    load.add_argument("--content", default=str(CONTENT_DIR), help="content folder")
    load.add_argument("--force", action="store_true", help="reload even if unchanged")
    load.set_defaults(func=cmd_load)

    sub.add_parser("stats", help="counts, and strategies per barrier").set_defaults(func=cmd_stats)

    review = sub.add_parser("review", help="write the content review table (docs/content-review.md)")
    review.add_argument("--content", default=str(CONTENT_DIR), help="content folder")
    review.add_argument("--out", default=str(REVIEW_TABLE), help="where to write it ('-' for the terminal)")
    review.set_defaults(func=cmd_review)

    rec = sub.add_parser("recommend", help="strategies for barriers")
    rec.add_argument("barriers", nargs="+", type=_barrier_arg, metavar="BARRIER[:CONFIDENCE]")
    rec.add_argument("--level", action="append", help="front_line, middle_manager or senior_leader")
    rec.add_argument("--exclude", action="append", default=[], help="strategy id already tried")
    rec.add_argument("--limit", type=int, default=3)
    rec.add_argument("--said", help="what the person said, in their words: strategies that fit it come first")
    rec.set_defaults(func=cmd_recommend)

    classify = commands.add_parser(
        "classify", help="barriers and levels of each line on stdin, as JSON lines",
        description="Reads one description per line (plain text, or JSON with a 'text' field) and writes "
                    "one JSON object per line with its barriers and levels, using the trained model.")
    classify.add_argument("--model", help="model archive (default: models/qi-coach.tar.gz)")
    classify.add_argument("--with-intent", action="store_true", help="also give each line's intent")
    classify.set_defaults(func=cmd_classify)

    evaluate = commands.add_parser("eval", help="evaluate barrier classification and the advice (writes reports/eval/)")
    evaluate.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    evaluate.add_argument("--repeats", type=int, default=1, help="with --rasa-cv: repeats of the folds")
    evaluate.add_argument("--limit", type=int, help="with --rasa-cv: a random sample of the synthetic data")
    evaluate.add_argument("--skip-cv", action="store_true",
                          help="the frozen test sets only, no cross-validation grouped by source")
    evaluate.add_argument("--out", default="reports/eval")
    evaluate.add_argument("--model", help="the model archive to evaluate (default: the current one)")
    evaluate.add_argument("--rasa-cv", action="store_true",
                          help="also cross-validate the synthetic data with rasa train nlu per fold (slow)")
    evaluate.add_argument("--no-compare", action="store_true",
                          help="score only the configuration config.yml keeps, not the alternatives (faster)")
    evaluate.add_argument("--advice-only", action="store_true",
                          help="only the advice evaluation: do the first three strategies hold an expert's first choice")
    evaluate.set_defaults(func=cmd_eval)

    spacy_cmd = commands.add_parser("spacy", help="the project's own spaCy pipeline")
    spacy_sub = spacy_cmd.add_subparsers(dest="action", required=True)
    build = spacy_sub.add_parser("build", help="build and install en_qi_coach (no-op when up to date)")
    build.add_argument("--force", action="store_true")
    build.set_defaults(func=cmd_spacy_build)

    commands.add_parser("serve", help="start the servers and chat in the terminal").set_defaults(func=cmd_serve)

    cluster = commands.add_parser(
        "cluster", help="several Rasa servers and action servers behind HAProxy, sharing PostgreSQL and Redis")
    cluster.add_argument("--servers", type=_count, default=2, help="Rasa servers (default 2)")
    cluster.add_argument("--actions", type=_count, default=None, help="action servers (default: as many as --servers)")
    cluster.set_defaults(func=cmd_cluster)

    checkins = commands.add_parser("checkins", help="follow-up check-ins on the strategies people chose to try")
    checkins_sub = checkins.add_subparsers(dest="action", required=True)
    run = checkins_sub.add_parser("run", help="send check-ins as they fall due, through a Rasa server")
    run.add_argument("--url", default=os.environ.get("QI_COACH_SERVER_URL", "http://127.0.0.1:5005"),
                     help="the Rasa server (or balancer) to send through (default: QI_COACH_SERVER_URL, else "
                          "http://127.0.0.1:5005)")
    run.add_argument("--interval", type=_seconds, default=30.0, help="seconds between rounds (default 30)")
    run.add_argument("--once", action="store_true", help="one round, then stop")
    run.add_argument("--as-of", type=_moment, default=None, metavar="YYYY-MM-DD[THH:MM]",
                     help="with --once: send what is due by then, as if it were that time (to try a check-in "
                          "without waiting for its day)")
    run.set_defaults(func=cmd_checkins_run)
    listing = checkins_sub.add_parser("list", help="check-ins to come (--all: also past ones)")
    listing.add_argument("--all", action="store_true", help="also answered, cancelled and failed check-ins")
    listing.set_defaults(func=cmd_checkins_list)

    insights = commands.add_parser(
        "insights", help="recurring barriers and the strategies that helped, for a QI lead, as a report folder",
        description="Writes index.html, one image per plot and one CSV per table (docs/insights.md). Counts "
                    "of 1 to 4 conversations are hidden.")
    insights.add_argument("--out", required=True, metavar="DIR", help="the folder to write (made if missing)")
    insights.add_argument("--from", dest="start", metavar="YYYY-MM-DD",
                          help="first day (default: the start of the twelve months up to --to)")
    insights.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, included (default: today)")
    insights.add_argument("--demo", action="store_true", help="the synthetic demonstration data, not the database")
    insights.add_argument("--format", choices=("png", "svg"), default="png", help="the plots' format (default png)")
    insights.set_defaults(func=cmd_insights)

    purge = commands.add_parser(
        "purge", help="delete conversations, plans and feedback past the retention period (serve does it at start)")
    purge.add_argument("--days", type=_days, default=None,
                       help="keep this many days (default: QI_COACH_RETENTION_DAYS, else 90)")
    purge.set_defaults(func=cmd_purge)

    plan_cmd = commands.add_parser("plan", help="action plans made by the guided triage")
    plan_sub = plan_cmd.add_subparsers(dest="action", required=True)
    export = plan_sub.add_parser("export", help="write a conversation's latest plan as Markdown")
    export.add_argument("conversation_id", help="the conversation (Rasa sender) id")
    export.add_argument("-o", "--output", help="a file to write (default: standard output)")
    export.set_defaults(func=cmd_plan_export)

    for kind in ("tool", "strategy"):
        find = sub.add_parser(kind, help=f"find a {kind} from what a person types")
        find.add_argument("text", nargs="+")
        find.set_defaults(func=cmd_find, kind=kind)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # what qi-coach writes (databases, keys, logs, plans) is this user's alone
    try:
        return args.func(args)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    except NotLoaded:
        print(f"The knowledge store at {_safe_url()} is empty: run `qi-coach knowledge load` "
              "(or `make run`) first.", file=sys.stderr)
        return 1
    except ValueError as exc:  # StoreError and friends: the request itself was wrong
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"error: the database at {_safe_url()} failed: {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
