"""The tour parser reads commands, their shown answers, continuations and remarks, and its
`...` matches anything but nothing else."""

from __future__ import annotations

from tests.docs.readme_tour import Step, steps

README = """# Title

## A tour

```sh
export KV=http://x/api
curl -s $KV/a \\
  -d b=1
# {"result":{"id":1,
#   "name":"..."},"error":null}   (a remark)
echo one
# id: 1
#
# data: {}
```

```python
print("not shell")
```

### Needs the outside world

```sh
curl -s https://stripe.example
```

## Operations

```sh
rm -rf everything
```
"""


def test_commands_come_in_order_with_their_answers() -> None:
    found = steps(README, ("A tour",), skip=("Needs",))
    assert [(s.command, s.expected) for s in found] == [
        ("export KV=http://x/api", None),
        ("curl -s $KV/a \\\n  -d b=1", '{"result":{"id":1,"name":"..."},"error":null}'),
        ("echo one", "id: 1\n\ndata: {}"),
    ]
    assert found[1].line == 7 and found[1].section == "A tour"


def test_skipped_subsections_and_other_sections_are_left_out() -> None:
    assert len(steps(README, ("A tour",))) == 4
    assert [s.command for s in steps(README, ("Operations",))] == ["rm -rf everything"]


def test_dots_match_anything_and_the_rest_must_be_exact() -> None:
    step = Step(1, "t", "curl", '{"result":{"id":...},"error":null}')
    assert step.matches('{"result":{"id":42,"x":[1]},"error":null}\n')
    assert step.matches('{"result":{"id":42},"error":null}\r\n\r\n')
    assert not step.matches('{"result":null,"error":{"code":1}}')
    assert not step.matches('{"result":{"id":42},"error":null} trailing')
