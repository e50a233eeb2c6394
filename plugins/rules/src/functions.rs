//! CEL functions of the `rules` plugin beyond the standard library and its `strings`, `lists`
//! and `math` extensions — what cross-object rules need to stay linear in the size of the
//! release:
//!
//! - `selects(selector, labels)`: whether a Kubernetes label selector selects `labels`.
//! - `list.selecting(labels)`: the elements of `list` (objects) whose label selector selects
//!   `labels`, found through an index of the list built once.
//! - `list.groupBy(x, key)`: a map from each key to the elements with that key.
//!
//! See the crate docs for what each one does exactly.

use std::collections::HashMap;

use cel::common::ast::{CallExpr, ComprehensionExpr, Expr, IdedExpr, ListExpr, LiteralValue};
use cel::common::types::{CelBool, CelMap, CelMapKey, DYN_TYPE, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::parser::{Macro, MacroExprHelper, ParseError};
use cel::{Env, ExecutionError};

use crate::values::{Shared, as_str, elements, entries, field, key_str};

/// Adds the functions and macros of this module to `env`.
pub fn register(env: &mut Env) -> Result<(), cel::DeclarationError> {
    env.add_overload(
        "selects",
        "selects(dyn,dyn)",
        vec![DYN_TYPE, DYN_TYPE],
        selects,
    )?;
    env.add_member_overload(
        "selecting",
        "list.selecting(dyn)",
        LIST_TYPE,
        vec![DYN_TYPE],
        selecting,
    )?;
    env.add_member_overload(
        GROUP_BY_KEYS,
        "list.@groupByKeys(list)",
        LIST_TYPE,
        vec![LIST_TYPE],
        group_by_keys,
    )?;
    env.add_macro(Macro::receiver("groupBy", 2, group_by_macro))?;
    Ok(())
}

fn two<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<[CowVal<'b, 'v>; 2], ExecutionError> {
    args.try_into()
        .map_err(|args: Vec<_>| ExecutionError::invalid_argument_count(2, args.len()))
}

// ---- label selectors ------------------------------------------------------------------------

/// A label selector, read from a CEL value.
enum Selector<'b, 'v> {
    /// A `LabelSelector`: `matchLabels` and `matchExpressions`.
    Label {
        match_labels: Option<&'b (dyn Val + 'v)>,
        match_expressions: Option<&'b (dyn Val + 'v)>,
    },
    /// A plain map of labels (a Service's or ReplicationController's `spec.selector`).
    Plain(&'b (dyn Val + 'v)),
}

impl<'b, 'v> Selector<'b, 'v> {
    /// `v` as a selector; none when it is not a map (a missing selector selects nothing).
    fn of(v: &'b (dyn Val + 'v)) -> Option<Self> {
        let map = entries(v)?;
        let plain = map
            .keys()
            .any(|k| !matches!(key_str(k), Some("matchLabels" | "matchExpressions")));
        Some(if plain {
            Selector::Plain(v)
        } else {
            Selector::Label {
                match_labels: field(v, "matchLabels"),
                match_expressions: field(v, "matchExpressions"),
            }
        })
    }

    /// The `key: value` pairs the selector requires.
    fn required(&self) -> impl Iterator<Item = (&'b str, Option<&'b str>)> + use<'b, 'v> {
        let map = match self {
            Selector::Plain(m) => Some(*m),
            Selector::Label { match_labels, .. } => *match_labels,
        };
        map.and_then(entries)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((key_str(k)?, as_str(v.as_ref()))))
    }

    /// Whether the selector selects `labels` (a map, or null for none).
    fn matches(&self, labels: Option<&(dyn Val + '_)>) -> bool {
        let label = |k: &str| labels.and_then(|l| field(l, k)).and_then(as_str);
        if !self.required().all(|(k, v)| v.is_some() && label(k) == v) {
            return false;
        }
        let Selector::Label {
            match_expressions: Some(exprs),
            ..
        } = self
        else {
            return true;
        };
        let Some(exprs) = elements(*exprs) else {
            return false;
        };
        exprs.iter().all(|e| {
            let e = e.as_ref();
            let key = field(e, "key").and_then(as_str).unwrap_or("");
            let values: Vec<&str> = field(e, "values")
                .and_then(elements)
                .map(|vs| vs.iter().filter_map(|v| as_str(v.as_ref())).collect())
                .unwrap_or_default();
            match field(e, "operator").and_then(as_str).unwrap_or("") {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        })
    }
}

/// `selects(selector, labels)`.
fn selects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [selector, labels] = two(args)?;
    let selected =
        Selector::of(selector.as_ref()).is_some_and(|s| s.matches(Some(labels.as_ref())));
    Ok(CowVal::owned(CelBool::from(selected)))
}

/// The label selector of an object: `spec.podSelector` of a NetworkPolicy, `spec.selector`
/// of anything else.
fn selector_of<'b, 'v>(object: &'b (dyn Val + 'v)) -> Option<Selector<'b, 'v>> {
    let spec = field(object, "spec")?;
    let at = match field(object, "kind").and_then(as_str) {
        Some("NetworkPolicy") => "podSelector",
        _ => "selector",
    };
    Selector::of(field(spec, at)?)
}

/// The elements of a list with a label selector, by one `key: value` pair their selector
/// requires (so a lookup only checks the elements that can match), and those whose selector
/// requires none (checked on every lookup).
#[derive(Debug, Default)]
pub struct SelectorIndex {
    by_label: HashMap<String, HashMap<String, Vec<usize>>>,
    unindexed: Vec<usize>,
}

impl SelectorIndex {
    fn build(items: &[Box<dyn Val + '_>]) -> Self {
        let mut index = SelectorIndex::default();
        for (i, item) in items.iter().enumerate() {
            let Some(selector) = selector_of(item.as_ref()) else {
                continue;
            };
            match selector.required().next() {
                Some((k, Some(v))) => index
                    .by_label
                    .entry(k.to_owned())
                    .or_default()
                    .entry(v.to_owned())
                    .or_default()
                    .push(i),
                // A required label with a value that is not a string selects nothing.
                Some((_, None)) => {}
                None => index.unindexed.push(i),
            }
        }
        index
    }

    /// Positions of the elements whose selector selects `labels`, in list order.
    fn lookup(&self, items: &[Box<dyn Val + '_>], labels: &dyn Val) -> Vec<usize> {
        let mut candidates: Vec<usize> = entries(labels)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| self.by_label.get(key_str(k)?)?.get(as_str(v.as_ref())?))
            .flatten()
            .chain(&self.unindexed)
            .copied()
            .filter(|&i| selector_of(items[i].as_ref()).is_some_and(|s| s.matches(Some(labels))))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }
}

/// `list.selecting(labels)`.
fn selecting<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, labels] = two(args)?;
    let items = elements(list.as_ref()).ok_or_else(|| ExecutionError::UnexpectedType {
        got: list.get_type().name().to_owned(),
        want: "list".to_owned(),
    })?;
    let found = match Shared::of(list.as_ref()) {
        // A list of the release (or a copy of one): index it once, for every lookup.
        Some(shared) => shared
            .selectors(|| SelectorIndex::build(items))
            .lookup(items, labels.as_ref()),
        // A list computed by the expression: indexing it costs what scanning it does.
        None => SelectorIndex::build(items).lookup(items, labels.as_ref()),
    };
    Ok(CowVal::owned(Shared::list(
        found.into_iter().map(|i| items[i].clone()).collect(),
    )))
}

// ---- groupBy --------------------------------------------------------------------------------

/// The variable `groupBy` binds its target to, so that it is evaluated once.
const GROUP_BY_INPUT: &str = "@__groupBy_input__";

/// The overload `groupBy` expands to: named so that CEL can't call it.
const GROUP_BY_KEYS: &str = "@groupByKeys";

/// Expands `list.groupBy(x, key)` into
/// `cel.bind(@__groupBy_input__, list,
/// @__groupBy_input__.@groupByKeys(@__groupBy_input__.map(x, key)))`, as the lists extension
/// expands `sortBy`.
fn group_by_macro(
    helper: &mut MacroExprHelper<'_>,
    target: &mut Option<IdedExpr>,
    args: &mut Vec<IdedExpr>,
) -> Result<Option<IdedExpr>, ParseError> {
    let Some(list) = target.take() else {
        return Ok(None);
    };
    if matches!(list.expr, Expr::Literal(_) | Expr::Map(_) | Expr::Struct(_)) {
        return Err(helper.new_error(list.id, "groupBy can only be applied to a list"));
    }
    let (Some(key), Some(var)) = (args.pop(), args.pop()) else {
        return Ok(None);
    };
    let Expr::Ident(var) = var.expr else {
        return Err(helper.new_error(var.id, "argument must be a simple name"));
    };
    let input =
        |helper: &mut MacroExprHelper<'_>| helper.next_expr(Expr::Ident(GROUP_BY_INPUT.to_owned()));
    // `@__groupBy_input__.map(x, key)`, as the standard `map` macro expands it.
    let result = "@result";
    let accu = |helper: &mut MacroExprHelper<'_>| helper.next_expr(Expr::Ident(result.to_owned()));
    let append = Expr::Call(CallExpr {
        func_name: "_+_".to_owned(),
        target: None,
        args: vec![
            accu(helper),
            helper.next_expr(Expr::List(ListExpr::new(vec![key]))),
        ],
    });
    let keys = ComprehensionExpr {
        iter_range: input(helper),
        iter_var: var,
        iter_var2: None,
        accu_var: result.to_owned(),
        accu_init: helper.next_expr(Expr::List(ListExpr::new(Vec::new()))),
        loop_cond: helper.next_expr(Expr::Literal(LiteralValue::Boolean(true.into()))),
        loop_step: helper.next_expr(append),
        result: accu(helper),
    };
    let keys = helper.next_expr(Expr::Comprehension(Box::new(keys)));
    let grouped = Expr::Call(CallExpr {
        func_name: GROUP_BY_KEYS.to_owned(),
        target: Some(Box::new(input(helper))),
        args: vec![keys],
    });
    let bind = ComprehensionExpr {
        iter_range: helper.next_expr(Expr::List(ListExpr::new(Vec::new()))),
        iter_var: "#unused".to_owned(),
        iter_var2: None,
        accu_var: GROUP_BY_INPUT.to_owned(),
        accu_init: list,
        loop_cond: helper.next_expr(Expr::Literal(LiteralValue::Boolean(false.into()))),
        loop_step: input(helper),
        result: helper.next_expr(grouped),
    };
    Ok(Some(helper.next_expr(Expr::Comprehension(Box::new(bind)))))
}

/// `list.@groupByKeys(keys)`: element `i` of `list` goes under `keys[i]`, or under each key of
/// `keys[i]` when that is a list.
fn group_by_keys<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [list, keys] = two(args)?;
    let (Some(items), Some(keys)) = (elements(list.as_ref()), elements(keys.as_ref())) else {
        return Err(ExecutionError::function_error("groupBy", "not a list"));
    };
    // Each group with the position of the last element filed under it.
    let mut groups: HashMap<CelMapKey<'v>, (Vec<Box<dyn Val + 'v>>, usize)> = HashMap::new();
    for (i, (item, key)) in items.iter().zip(keys).enumerate() {
        let mut file = |k: &(dyn Val + 'v)| -> Result<(), ExecutionError> {
            let k = CelMapKey::try_from(k.clone_as_boxed()).map_err(|_| {
                ExecutionError::function_error(
                    "groupBy",
                    format!(
                        "a key must be a string, int, uint or bool, or a list of them, not {}",
                        k.get_type().name()
                    ),
                )
            })?;
            let (group, last) = groups.entry(k).or_insert_with(|| (Vec::new(), usize::MAX));
            // An element listing a key twice goes under it once.
            if *last != i {
                group.push(item.clone());
                *last = i;
            }
            Ok(())
        };
        match elements(key.as_ref()) {
            Some(many) => many.iter().try_for_each(|k| file(k.as_ref()))?,
            None => file(key.as_ref())?,
        }
    }
    let map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = groups
        .into_iter()
        .map(|(k, (items, _))| (k, Box::new(Shared::list(items)) as Box<dyn Val + 'v>))
        .collect();
    Ok(CowVal::owned(CelMap::from(map)))
}
