"""CLI: ``llm-mars skills [--json] [--groot FILE]``, ``llm-mars tree validate FILE...``,
``llm-mars tree show FILE [--png OUT]``, ``llm-mars tree export FILE [--out-dir DIR]``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    skills = subparsers.add_parser(
        "skills", help="list node kinds, ports and library subtrees",
        description="Print every node kind of the registry with its typed ports, and the "
                    "subtrees of the trees/ library.")
    skills.add_argument("--json", action="store_true", help="print the registry as JSON")
    skills.add_argument("--groot", type=Path, metavar="FILE",
                        help="also write the Groot2 <TreeNodesModel> of every skill, condition "
                             "and library subtree to FILE")
    skills.set_defaults(handler=_skills)

    tree = subparsers.add_parser("tree", help="validate or show behavior-tree XML files")
    actions = tree.add_subparsers(dest="tree_command", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate", help="check plan or subtree files against the registry",
        description="Exit 0 if every file is valid, 1 with a report of every problem "
                    "(line, column, node path, suggestion) otherwise.")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=_validate)
    show = actions.add_parser("show", help="print a plan as a tree, optionally draw it as PNG")
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument("--png", type=Path, metavar="OUT", help="also draw it into this PNG file")
    show.set_defaults(handler=_show)
    export = actions.add_parser(
        "export", help="write each robot's tree as a file BehaviorTree.CPP loads as it is",
        description="Write DIR/STEM.ROBOT.xml for every robot the plan addresses: "
                    "main_tree_to_execute, the robot's tree, a copy of each library subtree it "
                    "uses and the Groot2 <TreeNodesModel>.")
    export.add_argument("file", type=Path, metavar="FILE")
    export.add_argument("--out-dir", type=Path, default=Path("."), metavar="DIR",
                        help="where to write the files (default: the current folder)")
    export.set_defaults(handler=_export)


def _skills(args: argparse.Namespace) -> int:
    from llm_mars.bt.library import load_library
    from llm_mars.bt.registry import REGISTRY
    from llm_mars.vocabulary import PLACES

    library = load_library()
    if args.groot is not None:
        from llm_mars.bt.nodes_model import nodes_model_document

        args.groot.write_text(nodes_model_document(library), encoding="utf-8")
        print(f"wrote {args.groot}", file=sys.stderr)
    if args.json:
        data = REGISTRY.to_dict()
        data["subtrees"] = library.to_dict()
        print(json.dumps(data, indent=2))
        return 0
    rows = [("TAG", "CATEGORY", "PORTS", "DESCRIPTION")]
    for kind in REGISTRY.kinds.values():
        rows.append((kind.tag, kind.category.value, _ports_text(kind.ports), kind.description))
    for definition in library:
        rows.append((f"SubTree ID={definition.id}", "subtree", _ports_text(definition.ports),
                     definition.description))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    print(f"\nplace: {', '.join(PLACES)}\n[port]: optional (=default)")
    return 0


def _ports_text(ports) -> str:
    from llm_mars.bt.model import format_value
    from llm_mars.vocabulary import PLACES

    parts = []
    for port in ports:
        kind = "place" if port.choices == PLACES else port.describe()
        text = f"{port.name}:{kind}"
        if not port.required:
            default = "" if port.default is None else f"={format_value(port.default)}"
            text = f"[{text}{default}]"
        parts.append(text)
    return " ".join(parts) or "-"


def _is_subtree_document(path: Path, text: str) -> bool:
    """A library file (trees/subtrees/ID.xml): a model and one tree, named like the file.
    Everything else, Groot2 and BT.CPP files included, goes to the plan reader ``run-tree``
    uses too."""
    from llm_mars.bt.safe_xml import read_xml
    from llm_mars.errors import PlanValidationError

    try:
        children = read_xml(text).children
    except PlanValidationError:
        return False
    trees = [c.attributes.get("ID") for c in children if c.tag == "BehaviorTree"]
    return any(c.tag == "TreeNodesModel" for c in children) and trees == [path.stem]


def _validate(args: argparse.Namespace) -> int:
    from llm_mars.bt.library import load_library
    from llm_mars.bt.model import Reply
    from llm_mars.bt.parser import parse_bt_output
    from llm_mars.bt.safe_xml import read_document
    from llm_mars.errors import PlanValidationError, SubtreeLibraryError

    library = load_library()
    failed = 0
    for path in args.files:
        try:
            text = read_document(path)
        except OSError as exc:
            failed += 1
            print(f"{path}: cannot read: {exc.strerror}")
            continue
        except PlanValidationError as exc:
            failed += 1
            print(f"{path}: 1 problem\n  {exc.problems[0]}")
            continue
        try:
            if _is_subtree_document(path, text):
                library.with_document(path.name, text)  # raises unless it validates
                print(f"{path}: ok (subtree {path.stem})")
                continue
            result = parse_bt_output(text, library)
        except SubtreeLibraryError as exc:
            failed += 1
            problems = [p for name, found in exc.by_file.items() for p in found]
            print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
            for name, found in exc.by_file.items():
                for problem in found:
                    where = "" if name == path.name else f"{name}: "
                    print(f"  {where}{problem}")
            continue
        except PlanValidationError as exc:
            failed += 1
            count = len(exc.problems)
            print(f"{path}: {count} problem{'s' if count != 1 else ''}")
            for problem in exc.problems:
                print(f"  {problem}")
            continue
        if isinstance(result, Reply):
            print(f"{path}: ok (reply: {result.text})")
        else:
            print(f"{path}: ok (trees for {', '.join(result.robots)})")
    return 1 if failed else 0


def _read_plan(path: Path):
    """The validated plan in ``path``; LlmMarsError when it cannot be read."""
    from llm_mars.bt.parser import parse_plan
    from llm_mars.bt.safe_xml import read_document
    from llm_mars.errors import LlmMarsError

    try:
        text = read_document(path)
    except OSError as exc:
        raise LlmMarsError(f"cannot read {path}: {exc.strerror}") from None
    return parse_plan(text)


def _show(args: argparse.Namespace) -> int:
    from llm_mars.bt.render import render_unicode, write_png

    plan = _read_plan(args.file)
    print(render_unicode(plan, statuses=False))
    if args.png is not None:
        write_png(plan, args.png, statuses=False)
        print(f"wrote {args.png}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from llm_mars.bt.export import export_robot

    plan = _read_plan(args.file)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for robot in plan.robots:
        out = args.out_dir / f"{args.file.stem}.{robot}.xml"
        out.write_text(export_robot(plan, robot), encoding="utf-8")
        print(f"wrote {out}")
    return 0
