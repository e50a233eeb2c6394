use super::*;
use serde_json::json;

fn settings(v: Value) -> Settings {
    serde_json::from_value(v).expect("settings")
}

fn obj(v: Value) -> ReviewObject {
    ReviewObject {
        object: v,
        live: None,
        operation: Operation::Create,
    }
}

fn ctx() -> Context {
    Context {
        app: "shop".into(),
        namespace: "shop".into(),
        revision: "local".into(),
        ..Default::default()
    }
}

fn run(s: Value, objects: &[ReviewObject]) -> Review {
    let s = settings(s);
    compile(&s).expect("compiles").review(objects, &ctx())
}

#[test]
fn a_false_expression_denies_with_the_rule_name_and_message() {
    let r = run(
        json!({"rules": [{"name": "team-label", "expression": "has(object.metadata.labels) && 'team' in object.metadata.labels", "message": "needs a team label", "field": "/metadata/labels"}]}),
        &[
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"team": "x"}}})),
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "b"}})),
        ],
    );
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].object, Some(1));
    assert_eq!(r.findings[0].verdict, Verdict::Deny);
    assert_eq!(r.findings[0].message, "team-label: needs a team label");
    assert_eq!(r.findings[0].field.as_deref(), Some("/metadata/labels"));
}

#[test]
fn message_expressions_and_warn_verdicts() {
    let r = run(
        json!({"rules": [{"name": "few-replicas", "verdict": "warn", "match": {"kinds": ["Deployment"]},
            "expression": "object.spec.replicas >= params.min",
            "messageExpression": "'only ' + string(object.spec.replicas) + ' replicas of ' + object.metadata.name"}],
            "params": {"min": 2}}),
        &[
            obj(
                json!({"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1}}),
            ),
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "cm"}})),
        ],
    );
    assert_eq!(r.findings.len(), 1, "{r:?}");
    assert_eq!(r.findings[0].verdict, Verdict::Warn);
    assert_eq!(
        r.findings[0].message,
        "few-replicas: only 1 replicas of web"
    );
}

#[test]
fn cross_object_rules_see_the_whole_release() {
    let rule = json!({"rules": [{"name": "pdb", "match": {"kinds": ["Deployment"]},
        "expression": "release.exists(p, p.kind == 'PodDisruptionBudget' && p.spec.selector.matchLabels.all(k, k in object.spec.template.metadata.labels && object.spec.template.metadata.labels[k] == p.spec.selector.matchLabels[k]))",
        "message": "no PodDisruptionBudget selects this Deployment's pods"}]});
    let dep = |name: &str, app: &str| {
        obj(
            json!({"kind": "Deployment", "metadata": {"name": name}, "spec": {"template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": []}}}}),
        )
    };
    let pdb = obj(
        json!({"kind": "PodDisruptionBudget", "metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}),
    );
    let r = run(rule, &[dep("web", "web"), dep("db", "db"), pdb]);
    assert_eq!(r.findings.len(), 1, "{r:?}");
    assert_eq!(r.findings[0].object, Some(1));
}

#[test]
fn pod_specs_of_every_workload_are_covered() {
    let r = run(
        json!({"rules": [{"name": "no-privileged", "match": {"withPodSpec": true},
            "expression": "containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)",
            "message": "privileged containers are not allowed"}]}),
        &[
            obj(
                json!({"kind": "CronJob", "metadata": {"name": "cj"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "securityContext": {"privileged": true}}]}}}}}}),
            ),
            obj(
                json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"initContainers": [{"name": "i", "securityContext": {"privileged": true}}], "containers": [{"name": "a"}]}}),
            ),
            obj(
                json!({"kind": "Deployment", "metadata": {"name": "ok"}, "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}),
            ),
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "cm"}})),
        ],
    );
    let idx: Vec<_> = r.findings.iter().map(|f| f.object).collect();
    assert_eq!(idx, [Some(0), Some(1)]);
}

#[test]
fn invalid_cel_names_the_rule_and_the_position() {
    let s = settings(
        json!({"rules": [{"name": "ok", "expression": "true"}, {"name": "broken", "expression": "object.metadata.name == )"}]}),
    );
    let Err(e) = compile(&s) else {
        panic!("invalid CEL compiled")
    };
    assert!(e.message.contains("rule \"broken\""), "{}", e.message);
    assert!(e.message.contains("line 1, column 25"), "{}", e.message);
    assert_eq!((e.line, e.column), (Some(1), Some(25)));
}

#[test]
fn evaluation_errors_fail_closed() {
    let r = run(
        json!({"rules": [{"name": "replicas", "expression": "object.spec.replicas > 1"}]}),
        &[obj(
            json!({"kind": "ConfigMap", "metadata": {"name": "cm"}}),
        )],
    );
    assert_eq!(r.findings.len(), 1);
    assert!(
        r.findings[0]
            .message
            .starts_with("replicas: cannot evaluate"),
        "{}",
        r.findings[0].message
    );
}

#[test]
fn match_criteria_and_conditions_select_objects() {
    let r = run(
        json!({"rules": [{"name": "n", "expression": "false", "message": "x",
            "match": {"kinds": ["ConfigMap"], "namespaces": ["shop"], "labels": {"tier": "web"}, "condition": "object.metadata.name != 'skip'"}}]}),
        &[
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"tier": "web"}}})),
            obj(
                json!({"kind": "ConfigMap", "metadata": {"name": "skip", "labels": {"tier": "web"}}}),
            ),
            obj(
                json!({"kind": "ConfigMap", "metadata": {"name": "b", "namespace": "other", "labels": {"tier": "web"}}}),
            ),
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "c"}})),
            obj(json!({"kind": "Secret", "metadata": {"name": "d", "labels": {"tier": "web"}}})),
        ],
    );
    let idx: Vec<_> = r.findings.iter().map(|f| f.object).collect();
    assert_eq!(idx, [Some(0)]);
}

#[test]
fn release_scope_rules_and_variables() {
    let r = run(
        json!({"variables": [{"name": "hosts", "expression": "release.filter(o, o.kind == 'Ingress').map(o, o.spec.rules[0].host)"}],
        "rules": [
            {"name": "few-objects", "scope": "release", "expression": "size(release) <= 2", "messageExpression": "'too many objects: ' + string(size(release))"},
            {"name": "unique-host", "match": {"kinds": ["Ingress"]}, "expression": "variables.hosts.filter(h, h == object.spec.rules[0].host).size() == 1", "message": "host claimed twice"}
        ]}),
        &[
            obj(
                json!({"kind": "Ingress", "metadata": {"name": "a"}, "spec": {"rules": [{"host": "a.example.com"}]}}),
            ),
            obj(
                json!({"kind": "Ingress", "metadata": {"name": "b"}, "spec": {"rules": [{"host": "a.example.com"}]}}),
            ),
            obj(
                json!({"kind": "Ingress", "metadata": {"name": "c"}, "spec": {"rules": [{"host": "c.example.com"}]}}),
            ),
        ],
    );
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.object, f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (None, "few-objects: too many objects: 3"),
            (Some(0), "unique-host: host claimed twice"),
            (Some(1), "unique-host: host claimed twice"),
        ]
    );
}

#[test]
fn old_object_and_request_are_bound() {
    let mut o = obj(json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "2"}}));
    o.live = Some(json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}}));
    o.operation = Operation::Update;
    let r = run(
        json!({"rules": [{"name": "immutable", "expression": "oldObject == null || oldObject.data == object.data", "messageExpression": "request.operation + ' ' + request.namespace + '/' + request.name + ' changes data'"}]}),
        &[o],
    );
    assert_eq!(
        r.findings[0].message,
        "immutable: UPDATE shop/a changes data"
    );
}

#[test]
fn positions_point_at_the_offending_token() {
    let s =
        settings(json!({"rules": [{"name": "multi", "expression": "true &&\n  object.x ==== 1"}]}));
    let Err(e) = compile(&s) else {
        panic!("invalid CEL compiled")
    };
    assert_eq!(e.line, Some(2), "{}", e.message);
    assert!(e.message.contains("line 2"), "{}", e.message);
}

#[test]
fn release_level_variables_feed_per_object_ones() {
    let s = settings(json!({"variables": [
            {"name": "cms", "expression": "release.filter(o, o.kind == 'ConfigMap').map(o, o.metadata.name)"},
            {"name": "mine", "expression": "object.metadata.name + '-config'"},
            {"name": "ok", "expression": "variables.mine in variables.cms"}],
        "rules": [{"name": "has-config", "match": {"kinds": ["Deployment"]}, "expression": "variables.ok", "messageExpression": "'no ConfigMap ' + variables.mine"}]}));
    let c = compile(&s).unwrap();
    let hoisted: Vec<bool> = c.variables.iter().map(|v| v.hoisted).collect();
    assert_eq!(hoisted, [true, false, false]);
    let r = c.review(
        &[
            obj(json!({"kind": "Deployment", "metadata": {"name": "web"}})),
            obj(json!({"kind": "Deployment", "metadata": {"name": "db"}})),
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "web-config"}})),
        ],
        &ctx(),
    );
    let got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.object, f.message.as_str()))
        .collect();
    assert_eq!(got, [(Some(1), "has-config: no ConfigMap db-config")]);
}

#[test]
fn variable_references_are_rewritten_outside_strings() {
    let names = ["a", "b"];
    assert_eq!(
        rewrite_variables(
            "variables.a + variables . b + 'variables.a' + x.variables.a + variables.c",
            &names
        ),
        "__var_a + __var_b + 'variables.a' + x.variables.a + variables.c"
    );
    assert_eq!(
        rewrite_variables(
            "\"\"\"variables.a\"\"\" == 'it\\'s variables.b' && variables.b",
            &names
        ),
        "\"\"\"variables.a\"\"\" == 'it\\'s variables.b' && __var_b"
    );
}

#[test]
fn variables_must_be_defined_before_use() {
    let s = settings(
        json!({"variables": [{"name": "a", "expression": "variables.b"}, {"name": "b", "expression": "1"}]}),
    );
    let Err(e) = compile(&s) else {
        panic!("compiled")
    };
    assert!(e.message.contains("uses variables.b"), "{}", e.message);
}

fn pdb(name: &str, ns: Option<&str>, selector: Value) -> ReviewObject {
    let mut metadata = json!({"name": name});
    if let Some(ns) = ns {
        metadata["namespace"] = json!(ns);
    }
    obj(
        json!({"kind": "PodDisruptionBudget", "metadata": metadata, "spec": {"selector": selector}}),
    )
}

fn deployment(name: &str, labels: Value) -> ReviewObject {
    obj(
        json!({"kind": "Deployment", "metadata": {"name": name}, "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": []}}}}),
    )
}

/// The findings as (object, message).
fn found(r: &Review) -> Vec<(Option<u32>, &str)> {
    r.findings
        .iter()
        .map(|f| (f.object, f.message.as_str()))
        .collect()
}

#[test]
fn selects_follows_kubernetes_label_selectors() {
    let labels = "{'app': 'web', 'tier': 'front'}";
    let cases = [
        ("{'matchLabels': {'app': 'web'}}", true),
        ("{'matchLabels': {'app': 'db'}}", false),
        ("{'matchLabels': {'app': 'web', 'zone': 'a'}}", false),
        ("{}", true),
        ("null", false),
        (
            "{'matchExpressions': [{'key': 'tier', 'operator': 'In', 'values': ['front', 'x']}]}",
            true,
        ),
        (
            "{'matchExpressions': [{'key': 'tier', 'operator': 'NotIn', 'values': ['front']}]}",
            false,
        ),
        (
            "{'matchExpressions': [{'key': 'zone', 'operator': 'DoesNotExist'}]}",
            true,
        ),
        (
            "{'matchExpressions': [{'key': 'zone', 'operator': 'Exists'}]}",
            false,
        ),
        (
            "{'matchExpressions': [{'key': 'tier', 'operator': 'Bogus'}]}",
            false,
        ),
        // A Service's selector: a plain map of labels.
        ("{'app': 'web'}", true),
        ("{'app': 'db'}", false),
    ];
    for (selector, want) in cases {
        let rule = json!({"rules": [{"name": "s", "expression": format!("selects({selector}, {labels})")}]});
        let r = run(
            rule,
            &[obj(json!({"kind": "ConfigMap", "metadata": {"name": "a"}}))],
        );
        assert_eq!(r.findings.is_empty(), want, "selects({selector}): {r:?}");
        assert!(
            r.findings
                .iter()
                .all(|f| f.message.starts_with("s: failed")),
            "selects({selector}): {r:?}"
        );
    }
    // The labels of an object, and no labels at all.
    let r = run(
        json!({"rules": [{"name": "s", "expression": "selects({'matchLabels': {'app': 'web'}}, object.metadata.labels) && !selects({'matchLabels': {'app': 'web'}}, null)"}]}),
        &[obj(
            json!({"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"app": "web"}}}),
        )],
    );
    assert!(r.findings.is_empty(), "{r:?}");
}

#[test]
fn selecting_finds_the_objects_whose_selector_selects_the_labels() {
    // Which PodDisruptionBudgets select each Deployment's pods, in release order.
    let rule = json!({"rules": [{"name": "pdbs", "match": {"kinds": ["Deployment"]}, "expression": "false",
        "messageExpression": "releaseByKind['PodDisruptionBudget'].selecting(object.spec.template.metadata.labels).map(p, p.metadata.name).join(',')"}]});
    let objects = [
        deployment("web", json!({"app": "web", "tier": "front"})),
        deployment("db", json!({"app": "db"})),
        deployment("none", json!({})),
        pdb("web", None, json!({"matchLabels": {"app": "web"}})),
        pdb(
            "front",
            None,
            json!({"matchLabels": {"tier": "front", "app": "web"}}),
        ),
        pdb("all", None, json!({})),
        pdb(
            "not-web",
            None,
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}),
        ),
        pdb(
            "wrong",
            None,
            json!({"matchLabels": {"app": "web", "tier": "back"}}),
        ),
        obj(
            json!({"kind": "PodDisruptionBudget", "metadata": {"name": "no-selector"}, "spec": {}}),
        ),
    ];
    let r = run(rule, &objects);
    assert_eq!(
        found(&r),
        [
            (Some(0), "pdbs: web,front,all"),
            (Some(1), "pdbs: all,not-web"),
            (Some(2), "pdbs: all,not-web"),
        ]
    );
    // The same over a list computed by the expression (no index kept), and over `release`,
    // where a NetworkPolicy selects with spec.podSelector and a Service with a plain map.
    let rule = json!({"rules": [{"name": "sel", "match": {"kinds": ["Deployment"]}, "expression": "false",
        "messageExpression": "release.filter(o, o.kind != 'Deployment').selecting(object.spec.template.metadata.labels).map(p, p.metadata.name).join(',') + ' / ' + release.selecting(object.spec.template.metadata.labels).map(p, p.kind + '/' + p.metadata.name).join(',')"}]});
    let r = run(
        rule,
        &[
            deployment("web", json!({"app": "web"})),
            obj(
                json!({"kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}}),
            ),
            obj(json!({"kind": "Service", "metadata": {"name": "external"}, "spec": {}})),
            obj(
                json!({"kind": "NetworkPolicy", "metadata": {"name": "deny"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}),
            ),
            obj(json!({"kind": "ConfigMap", "metadata": {"name": "cm"}})),
        ],
    );
    assert_eq!(
        found(&r),
        [(Some(0), "sel: web,deny / Service/web,NetworkPolicy/deny")]
    );
}

#[test]
fn release_by_kind_groups_the_release_and_is_empty_for_other_kinds() {
    let r = run(
        json!({"rules": [{"name": "kinds", "scope": "release", "expression": "false",
            "messageExpression": "string(size(releaseByKind['Deployment'])) + ' ' + releaseByKind['Deployment'].map(d, d.metadata.name).join(',') + ' ' + string(size(releaseByKind['Ingress'])) + ' ' + string('Ingress' in releaseByKind) + ' ' + string(releaseByKind['PodDisruptionBudget'][0] == release[1])"}]}),
        &[
            deployment("web", json!({})),
            pdb("web", None, json!({})),
            deployment("db", json!({})),
        ],
    );
    assert_eq!(found(&r), [(None, "kinds: 2 web,db 0 false true")]);
}

#[test]
fn group_by_maps_each_key_to_its_elements() {
    let r = run(
        json!({"variables": [{"name": "g", "expression": "[{'n': 'a', 'k': ['x', 'y', 'x']}, {'n': 'b', 'k': 'y'}, {'n': 'c', 'k': []}].groupBy(e, e.k)"}],
            "rules": [{"name": "g", "scope": "release", "expression": "false",
            "messageExpression": "variables.g['x'].map(e, e.n).join(',') + ' ' + variables.g['y'].map(e, e.n).join(',') + ' ' + string(size(variables.g))"}]}),
        &[],
    );
    assert_eq!(found(&r), [(None, "g: a a,b 2")]);
    let r = run(
        json!({"rules": [{"name": "bad", "scope": "release", "expression": "size([1].groupBy(x, {'a': x})) == 1"}]}),
        &[],
    );
    assert!(
        r.findings[0].message.contains("a key must be a string"),
        "{r:?}"
    );
    let s = settings(json!({"rules": [{"name": "bad", "expression": "[1].groupBy(1, x) == {}"}]}));
    assert!(compile(&s).is_err());
}
