//! End-to-end tests of the HTTP API: the real application served on `127.0.0.1:0`, spoken to
//! over HTTP, against a fresh SQLite file and a fresh PostgreSQL schema (each test runs on both;
//! the PostgreSQL runs fail loudly when the server is unreachable).

mod support;

use serde_json::{json, Value};
use support::{customer, depot, TestApp};

const PROBLEM_JSON: &str = "application/problem+json";

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default()
}

fn fields(body: &Value) -> Vec<String> {
    body["errors"].as_array().map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default()
}

async fn customers_round_trip_through_create_read_replace_list_and_delete(app: &TestApp) {
    let (status, _, created) = app.post("/v1/customers", &customer("C0001", "信義區")).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["code"], "C0001");
    assert_eq!(created["usual_cylinders"], json!([{ "size_kg": 20, "quantity": 2 }]));
    assert_eq!(created["access_restrictions"], json!(["narrow_lane"]));

    let (status, _, read) = app.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read, created);

    let mut changed = customer("C0001", "大安區");
    changed["payment_method"] = json!("monthly");
    changed["time_windows"] = json!([{ "start": "14:00", "end": "18:00" }, { "start": "08:00", "end": "10:00" }]);
    let (status, _, replaced) = app.put(&format!("/v1/customers/{id}"), &changed).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["district"], "大安區");
    assert_eq!(replaced["payment_method"], "monthly");
    assert_eq!(replaced["time_windows"][0]["start"], "08:00", "windows are kept sorted");
    assert_eq!(replaced["created_at"], created["created_at"]);

    let (status, _, list) = app.get("/v1/customers").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0], replaced);

    assert_eq!(app.delete(&format!("/v1/customers/{id}")).await.0, 204);
    let (status, ct, body) = app.get(&format!("/v1/customers/{id}")).await;
    assert_eq!((status, ct.as_str()), (404, PROBLEM_JSON));
    assert_eq!(problem_type(&body), "https://luckygas.tw/problems/not-found");
    assert_eq!(body["instance"], format!("/v1/customers/{id}"));
}

async fn depots_round_trip_through_create_read_replace_list_and_delete(app: &TestApp) {
    let (status, _, created) = app.post("/v1/depots", &depot("板橋站")).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/v1/depots/{id}")).await.2, created);
    let (status, _, replaced) = app.put(&format!("/v1/depots/{id}"), &depot("新板橋站")).await;
    assert_eq!((status, replaced["name"].as_str()), (200, Some("新板橋站")));
    let (_, _, list) = app.get("/v1/depots?limit=10").await;
    assert_eq!((list["total"].as_i64(), list["limit"].as_i64()), (Some(1), Some(10)));
    assert_eq!(app.delete(&format!("/v1/depots/{id}")).await.0, 204);
    assert_eq!(app.delete(&format!("/v1/depots/{id}")).await.0, 404);
    assert_eq!(app.put(&format!("/v1/depots/{id}"), &depot("x")).await.0, 404);
}

async fn vehicle_types_round_trip_and_refuse_taken_names_and_bad_limits(app: &TestApp) {
    let truck = json!({
        "name": "3.5 噸貨車", "kind": "truck",
        "cylinder_slots": [{ "size_kg": 20, "count": 40 }, { "size_kg": 50, "count": 10 }],
        "max_load_kg": 3500, "max_gas_kg": 1300, "required_skills": ["hazmat_permit"]
    });
    let (status, _, created) = app.post("/v1/vehicle-types", &truck).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["cylinder_slots"], truck["cylinder_slots"]);
    assert_eq!(app.get(&format!("/v1/vehicle-types/{id}")).await.2, created);

    let motorcycle = json!({
        "name": "重型機車", "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }],
        "max_load_kg": 80, "max_gas_kg": 60
    });
    let (status, _, moto) = app.post("/v1/vehicle-types", &motorcycle).await;
    assert_eq!(status, 201, "{moto}");
    assert_eq!(moto["required_skills"], json!([]));
    let (status, _, body) = app.post("/v1/vehicle-types", &truck).await;
    assert_eq!((status, fields(&body)), (409, vec!["name".to_owned()]));

    let mut bad = motorcycle.clone();
    bad["max_gas_kg"] = json!(100);
    let (status, _, body) = app.put(&format!("/v1/vehicle-types/{}", moto["id"]), &bad).await;
    assert_eq!((status, fields(&body)), (422, vec!["max_gas_kg".to_owned()]));

    assert_eq!(app.get("/v1/vehicle-types?limit=1&offset=1").await.2["items"][0]["name"], "重型機車");
    assert_eq!(app.delete(&format!("/v1/vehicle-types/{id}")).await.0, 204);
    let req = app.client.get(app.url(&format!("/v1/vehicle-types/{id}"))).header("Accept-Language", "en");
    let (status, _, body) = app.send(req).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("no such vehicle type")));
}

async fn drivers_round_trip_and_default_to_active(app: &TestApp) {
    let (status, _, created) = app.post("/v1/drivers", &json!({ "name": "陳大文", "skills": ["hazmat_permit"] })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["active"].as_bool(), created["phone"].is_null()), (Some(true), true));
    let id = created["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/v1/drivers/{id}")).await.2, created);
    let off = json!({ "name": "陳大文", "phone": "0912-345-678", "skills": [], "active": false });
    let (status, _, replaced) = app.put(&format!("/v1/drivers/{id}"), &off).await;
    assert_eq!((status, replaced["active"].as_bool(), replaced["skills"].clone()), (200, Some(false), json!([])));
    let (status, _, body) = app.post("/v1/drivers", &json!({ "name": "", "skills": ["Forklift"] })).await;
    assert_eq!((status, fields(&body)), (422, vec!["name".to_owned(), "skills[0]".to_owned()]));
    assert_eq!(app.get("/v1/drivers").await.2["total"], 1);
    assert_eq!(app.delete(&format!("/v1/drivers/{id}")).await.0, 204);
    assert_eq!(app.get(&format!("/v1/drivers/{id}")).await.0, 404);
}

async fn vehicles_need_existing_types_and_depots_which_then_cannot_be_deleted(app: &TestApp) {
    let depot_id = app.post("/v1/depots", &depot("板橋站")).await.2["id"].clone();
    let moto =
        json!({ "name": "重型機車", "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }], "max_load_kg": 80, "max_gas_kg": 60 });
    let type_id = app.post("/v1/vehicle-types", &moto).await.2["id"].clone();

    let (status, _, created) = app.post("/v1/vehicles", &json!({ "plate": "mab-1234", "vehicle_type_id": type_id, "depot_id": depot_id })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["plate"].as_str(), created["active"].as_bool()), (Some("MAB-1234"), Some(true)));
    let id = created["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/v1/vehicles/{id}")).await.2, created);

    let (status, _, body) = app.post("/v1/vehicles", &json!({ "plate": "MAB-1234", "vehicle_type_id": type_id, "depot_id": depot_id })).await;
    assert_eq!((status, fields(&body)), (409, vec!["plate".to_owned()]));
    let (status, _, body) = app.post("/v1/vehicles", &json!({ "plate": "MAB-5678", "vehicle_type_id": 9999, "depot_id": 9998 })).await;
    assert_eq!((status, fields(&body)), (422, vec!["vehicle_type_id".to_owned(), "depot_id".to_owned()]));
    assert_eq!(body["errors"][0]["code"], "unknown_reference");
    let moved = json!({ "plate": "MAB-1234", "vehicle_type_id": type_id, "depot_id": 9998, "active": false });
    let (status, _, body) = app.put(&format!("/v1/vehicles/{id}"), &moved).await;
    assert_eq!((status, fields(&body)), (422, vec!["depot_id".to_owned()]));

    let (status, _, body) = app.delete(&format!("/v1/depots/{depot_id}")).await;
    assert_eq!((status, problem_type(&body)), (409, "https://luckygas.tw/problems/in-use"));
    assert_eq!(app.delete(&format!("/v1/vehicle-types/{type_id}")).await.0, 409);
    assert_eq!(app.get("/v1/vehicles").await.2["total"], 1);
    assert_eq!(app.delete(&format!("/v1/vehicles/{id}")).await.0, 204);
    assert_eq!(app.delete(&format!("/v1/depots/{depot_id}")).await.0, 204);
    assert_eq!(app.delete(&format!("/v1/vehicle-types/{type_id}")).await.0, 204);
}

async fn customers_name_the_vehicle_types_that_may_serve_them_which_then_cannot_be_deleted(app: &TestApp) {
    let truck =
        |name: &str| json!({ "name": name, "kind": "truck", "cylinder_slots": [{ "size_kg": 20, "count": 30 }], "max_load_kg": 1500, "max_gas_kg": 600 });
    let small = app.post("/v1/vehicle-types", &truck("1.5 噸貨車")).await.2["id"].as_i64().expect("id");
    let big = app.post("/v1/vehicle-types", &truck("3.5 噸貨車")).await.2["id"].as_i64().expect("id");
    assert!(small < big);

    let mut body = customer("C0001", "信義區");
    body["allowed_vehicle_type_ids"] = json!([big, small]);
    let (status, _, created) = app.post("/v1/customers", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["allowed_vehicle_type_ids"], json!([small, big]), "kept in ascending order");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(app.get(&format!("/v1/customers/{id}")).await.2, created, "read back as written");

    // Unknown, repeated and impossible ids are named; nothing is stored.
    body["code"] = json!("C0002");
    body["allowed_vehicle_type_ids"] = json!([small, 999_999, small, 0]);
    let (status, _, problem) = app.post("/v1/customers", &body).await;
    let want: Vec<String> = ["allowed_vehicle_type_ids[2]", "allowed_vehicle_type_ids[3]"].map(str::to_owned).to_vec();
    assert_eq!((status, fields(&problem)), (422, want), "{problem}");
    body["allowed_vehicle_type_ids"] = json!([small, 999_999]);
    let (status, _, problem) = app.post("/v1/customers", &body).await;
    assert_eq!((status, fields(&problem)), (422, vec!["allowed_vehicle_type_ids[1]".to_owned()]), "{problem}");
    assert_eq!(problem["errors"][0]["code"], "unknown_reference");
    assert_eq!(app.get("/v1/customers").await.2["total"], 1);

    // A vehicle type a customer names cannot be deleted until the customer lets it go.
    let (status, _, problem) = app.delete(&format!("/v1/vehicle-types/{big}")).await;
    assert_eq!((status, problem_type(&problem)), (409, "https://luckygas.tw/problems/in-use"));
    let mut only_small = customer("C0001", "信義區");
    only_small["allowed_vehicle_type_ids"] = json!([small]);
    let (status, _, replaced) = app.put(&format!("/v1/customers/{id}"), &only_small).await;
    assert_eq!((status, replaced["allowed_vehicle_type_ids"].clone()), (200, json!([small])), "{replaced}");
    assert_eq!(app.delete(&format!("/v1/vehicle-types/{big}")).await.0, 204);
    assert_eq!(app.delete(&format!("/v1/vehicle-types/{small}")).await.0, 409);
    // A customer sent without the field may be served by any vehicle.
    let mut any = only_small.clone();
    any.as_object_mut().expect("object").remove("allowed_vehicle_type_ids");
    assert_eq!(app.put(&format!("/v1/customers/{id}"), &any).await.2["allowed_vehicle_type_ids"], json!([]));
    assert_eq!(app.delete(&format!("/v1/vehicle-types/{small}")).await.0, 204);
}

async fn lists_customers_page_by_page_and_by_district(app: &TestApp) {
    for (i, district) in ["信義區", "大安區", "信義區", "大安區", "信義區"].iter().enumerate() {
        let (status, _, body) = app.post("/v1/customers", &customer(&format!("C{:04}", i + 1), district)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, _, first) = app.get("/v1/customers?limit=2").await;
    assert_eq!(first["total"], 5);
    let codes = |page: &Value| page["items"].as_array().map(|a| a.iter().map(|c| c["code"].clone()).collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(codes(&first), [json!("C0001"), json!("C0002")]);
    let (_, _, last) = app.get("/v1/customers?limit=2&offset=4").await;
    assert_eq!(codes(&last), [json!("C0005")]);

    let url = reqwest::Url::parse_with_params(&app.url("/v1/customers"), &[("district", "信義區")]).expect("url");
    let (_, _, xinyi) = app.send(app.client.get(url)).await;
    assert_eq!(xinyi["total"], 3);
    assert_eq!(codes(&xinyi), [json!("C0001"), json!("C0003"), json!("C0005")]);

    let (status, _, bad) = app.get("/v1/customers?limit=0&offset=-1").await;
    assert_eq!(status, 422);
    assert_eq!(fields(&bad), ["limit", "offset"]);
    assert_eq!(app.get("/v1/customers?limit=abc").await.0, 422);
}

async fn names_the_invalid_field_in_chinese_by_default_and_in_english_on_request(app: &TestApp) {
    let mut bad = customer("C0001", "信義區");
    bad["lat"] = json!(48.85);
    bad["payment_method"] = json!("bitcoin");
    let (status, ct, zh) = app.post("/v1/customers", &bad).await;
    assert_eq!((status, ct.as_str()), (422, PROBLEM_JSON));
    assert_eq!(problem_type(&zh), "https://luckygas.tw/problems/validation");
    assert_eq!(zh["title"], "資料驗證失敗");
    assert_eq!(zh["status"], 422);
    assert_eq!(zh["instance"], "/v1/customers");
    assert_eq!(fields(&zh), ["lat", "payment_method"]);
    assert_eq!(zh["errors"][0]["code"], "out_of_range");
    assert!(zh["errors"][0]["message"].as_str().is_some_and(|m| m.contains("數值必須介於")), "{zh}");

    let req = app.client.post(app.url("/v1/customers")).header("Accept-Language", "en-US,en;q=0.8").json(&bad);
    let (status, _, en) = app.send(req).await;
    assert_eq!(status, 422);
    assert_eq!(en["title"], "Validation failed");
    assert_eq!(problem_type(&en), problem_type(&zh), "the type is stable across languages");
    assert_eq!(fields(&en), ["lat", "payment_method"]);
    assert!(en["errors"][0]["message"].as_str().is_some_and(|m| m.starts_with("must be between")), "{en}");
}

async fn rejects_malformed_json_wrong_types_and_other_media_types(app: &TestApp) {
    let post_raw = |body: &'static str, ct: &'static str| app.client.post(app.url("/v1/customers")).header("content-type", ct).body(body);
    let (status, ct, body) = app.send(post_raw("{\"code\": \"C0001\",", "application/json")).await;
    assert_eq!((status, ct.as_str()), (400, PROBLEM_JSON));
    assert_eq!(problem_type(&body), "https://luckygas.tw/problems/malformed-json");

    let mut wrong = customer("C0001", "信義區");
    wrong["lon"] = json!("east");
    let (status, _, body) = app.post("/v1/customers", &wrong).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["lon"]);
    assert_eq!(body["errors"][0]["code"], "invalid_type");

    wrong = customer("C0001", "信義區");
    wrong["usual_cylinders"][0]["quantity"] = json!(-1);
    assert_eq!(fields(&app.post("/v1/customers", &wrong).await.2), ["usual_cylinders[0].quantity"]);

    let (status, _, body) = app.send(post_raw("{}", "application/json")).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["code", "name", "address", "district", "lat", "lon", "payment_method"], "all missing fields at once");
    assert_eq!(body["errors"][4]["code"], "required");
    assert_eq!(fields(&app.send(post_raw("[1, 2]", "application/json")).await.2), ["body"]);

    let (status, _, body) = app.send(post_raw("code=C0001", "application/x-www-form-urlencoded")).await;
    assert_eq!(status, 415);
    assert_eq!(problem_type(&body), "https://luckygas.tw/problems/unsupported-media-type");
}

/// The field errors' messages of a problem.
fn messages(body: &Value) -> Vec<String> {
    body["errors"].as_array().map(|a| a.iter().map(|e| e["message"].as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default()
}

async fn explains_a_mistyped_value_in_plain_words_in_both_languages(app: &TestApp) {
    let mut wrong = customer("C0001", "信義區");
    wrong["lat"] = json!("north");
    let (status, _, zh) = app.post("/v1/customers", &wrong).await;
    assert_eq!((status, fields(&zh)), (422, vec!["lat".to_owned()]), "{zh}");
    assert_eq!(zh["errors"][0]["code"], "invalid_type");
    assert_eq!(messages(&zh), ["必須是數字"]);
    let (status, _, en) = app.send(app.client.post(app.url("/v1/customers")).header("Accept-Language", "en").json(&wrong)).await;
    assert_eq!((status, fields(&en)), (422, vec!["lat".to_owned()]), "{en}");
    assert_eq!((en["errors"][0]["code"].as_str(), messages(&en)), (Some("invalid_type"), vec!["must be a number".to_owned()]));
    for body in [&zh, &en] {
        assert!(!body.to_string().contains("f64"), "no Rust type names: {body}");
    }

    // Other types, named in plain words too.
    wrong = customer("C0001", "信義區");
    wrong["time_windows"] = json!({ "start": "08:00" });
    wrong["usual_cylinders"] = json!([{ "size_kg": 20, "quantity": -2 }]);
    let (_, _, en) = app.send(app.client.post(app.url("/v1/customers")).header("Accept-Language", "en").json(&wrong)).await;
    assert_eq!((fields(&en), messages(&en)), (vec!["time_windows".to_owned()], vec!["must be a list".to_owned()]), "{en}");
    wrong["time_windows"] = json!([]);
    let (_, _, en) = app.send(app.client.post(app.url("/v1/customers")).header("Accept-Language", "en").json(&wrong)).await;
    assert_eq!(fields(&en), ["usual_cylinders[0].quantity"], "{en}");
    assert!(!en.to_string().contains("u32"), "{en}");
    let (_, _, en) =
        app.send(app.client.post(app.url("/v1/drivers")).header("Accept-Language", "en").json(&json!({ "name": "陳大文", "active": "yes" }))).await;
    assert_eq!((fields(&en), messages(&en)), (vec!["active".to_owned()], vec!["must be true or false".to_owned()]), "{en}");
    assert_eq!(app.get("/v1/customers").await.2["total"], 0);
}

async fn refuses_unknown_fields_naming_them_and_the_fields_there_are(app: &TestApp) {
    let mut typo = customer("C0001", "信義區");
    typo["colour"] = json!("red");
    let (status, ct, zh) = app.post("/v1/customers", &typo).await;
    assert_eq!((status, ct.as_str()), (422, PROBLEM_JSON), "{zh}");
    assert_eq!(problem_type(&zh), "https://luckygas.tw/problems/validation");
    assert_eq!((fields(&zh), zh["errors"][0]["code"].as_str()), (vec!["colour".to_owned()], Some("unknown_field")));
    let message = &messages(&zh)[0];
    assert!(message.starts_with("不是可用的欄位") && message.contains("payment_method") && message.contains("time_windows"), "{zh}");
    let (_, _, en) = app.send(app.client.post(app.url("/v1/customers")).header("Accept-Language", "en").json(&typo)).await;
    assert!(messages(&en)[0].starts_with("is not a known field, use one of: code, name"), "{en}");

    // Inside nested objects, by the JSON path; on replaces as on creates.
    let id = app.post("/v1/customers", &customer("C0001", "信義區")).await.2["id"].clone();
    let mut nested = customer("C0001", "大安區");
    nested["time_windows"][0]["strat"] = json!("09:00");
    let (status, _, body) = app.put(&format!("/v1/customers/{id}"), &nested).await;
    assert_eq!((status, fields(&body)), (422, vec!["time_windows[0].strat".to_owned()]), "{body}");
    assert!(messages(&body)[0].ends_with("start, end"), "{body}");
    assert_eq!(app.get(&format!("/v1/customers/{id}")).await.2["district"], "信義區", "nothing changed");

    let (status, _, body) = app.post("/v1/depots", &json!({ "name": "板橋站", "address": "x", "lat": 25.0, "lon": 121.4, "phone": "02" })).await;
    assert_eq!((status, fields(&body)), (422, vec!["phone".to_owned()]), "{body}");
    let (status, _, body) =
        app.anonymous().post("/v1/auth/login", &json!({ "email": app.admin_email, "password": app.admin_password, "remember": true })).await;
    assert_eq!((status, fields(&body)), (422, vec!["remember".to_owned()]), "{body}");
}

async fn answers_every_create_with_201_and_the_location_of_the_new_resource(app: &TestApp) {
    let create = |path: &'static str, body: Value| async move {
        let res = app.client.post(app.url(path)).json(&body).send().await.expect("request sent");
        let status = res.status().as_u16();
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let created: Value = res.json().await.expect("JSON body");
        assert_eq!(status, 201, "POST {path}: {created}");
        let id = created["id"].as_i64().expect("an id");
        assert_eq!(location, Some(format!("{path}/{id}")), "POST {path}");
        let (status, _, read) = app.get(&format!("{path}/{id}")).await;
        assert_eq!((status, &read), (200, &created), "GET {path}/{id}");
        created
    };
    let depot_id = create("/v1/depots", depot("板橋站")).await["id"].clone();
    let customer_id = create("/v1/customers", customer("C0001", "信義區")).await["id"].clone();
    let moto =
        json!({ "name": "重型機車", "kind": "heavy_motorcycle", "cylinder_slots": [{ "size_kg": 20, "count": 2 }], "max_load_kg": 80, "max_gas_kg": 60 });
    let type_id = create("/v1/vehicle-types", moto).await["id"].clone();
    create("/v1/vehicles", json!({ "plate": "MAB-1234", "vehicle_type_id": type_id, "depot_id": depot_id })).await;
    create("/v1/drivers", json!({ "name": "陳大文", "skills": [] })).await;
    let order = json!({ "customer_id": customer_id, "delivery_date": "2026-03-02", "cylinders": [{ "size_kg": 20, "quantity": 1 }] });
    create("/v1/orders", order).await;
    create("/v1/users", json!({ "email": "dispatcher@luckygas.test", "password": "correct-horse-battery", "role": "dispatcher" })).await;
}

async fn answers_404_for_unknown_ids_and_routes_and_405_for_wrong_methods(app: &TestApp) {
    for path in ["/v1/customers/999999", "/v1/customers/abc", "/v1/depots/0", "/v1/nothing-here"] {
        let (status, ct, body) = app.get(path).await;
        assert_eq!((status, ct.as_str()), (404, PROBLEM_JSON), "{path}");
        assert_eq!(problem_type(&body), "https://luckygas.tw/problems/not-found");
        assert_eq!(body["instance"], path);
    }
    let req = app.client.get(app.url("/v1/customers/424242")).header("Accept-Language", "en");
    let (_, _, en) = app.send(req).await;
    assert_eq!((en["title"].as_str(), en["detail"].as_str()), (Some("Not found"), Some("no such customer")));
    let (status, ct, body) = app.send(app.client.patch(app.url("/v1/customers"))).await;
    assert_eq!((status, ct.as_str()), (405, PROBLEM_JSON));
    assert_eq!(problem_type(&body), "https://luckygas.tw/problems/method-not-allowed");
}

async fn refuses_a_customer_code_that_is_taken(app: &TestApp) {
    assert_eq!(app.post("/v1/customers", &customer("C0001", "信義區")).await.0, 201);
    let (status, _, second) = app.post("/v1/customers", &customer("C0002", "信義區")).await;
    assert_eq!(status, 201);
    let (status, ct, body) = app.post("/v1/customers", &customer("C0001", "大安區")).await;
    assert_eq!((status, ct.as_str()), (409, PROBLEM_JSON));
    assert_eq!(problem_type(&body), "https://luckygas.tw/problems/conflict");
    assert_eq!(fields(&body), ["code"]);
    let (status, _, _) = app.put(&format!("/v1/customers/{}", second["id"]), &customer("C0001", "信義區")).await;
    assert_eq!(status, 409, "renaming onto a taken code conflicts too");
}

async fn refuses_bodies_over_one_mebibyte(app: &TestApp) {
    let mut big = customer("C0001", "信義區");
    big["name"] = json!("x".repeat(2 * 1024 * 1024));
    let (status, ct, body) = app.post("/v1/customers", &big).await;
    assert_eq!((status, ct.as_str()), (413, PROBLEM_JSON));
    assert_eq!(problem_type(&body), "https://luckygas.tw/problems/payload-too-large");
    assert_eq!(app.get("/v1/customers").await.2["total"], 0);
}

async fn reports_liveness_readiness_and_request_ids(app: &TestApp) {
    let (status, _, body) = app.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = app.get("/readyz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "{body}");

    let res = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert!(res.headers().get("x-request-id").is_some_and(|v| !v.is_empty()), "a request id is generated");
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.expect("request");
    assert_eq!(res.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("abc-123"), "a given id is kept");
}

both_backends!(
    customers_round_trip_through_create_read_replace_list_and_delete,
    depots_round_trip_through_create_read_replace_list_and_delete,
    vehicle_types_round_trip_and_refuse_taken_names_and_bad_limits,
    drivers_round_trip_and_default_to_active,
    vehicles_need_existing_types_and_depots_which_then_cannot_be_deleted,
    customers_name_the_vehicle_types_that_may_serve_them_which_then_cannot_be_deleted,
    lists_customers_page_by_page_and_by_district,
    names_the_invalid_field_in_chinese_by_default_and_in_english_on_request,
    rejects_malformed_json_wrong_types_and_other_media_types,
    explains_a_mistyped_value_in_plain_words_in_both_languages,
    refuses_unknown_fields_naming_them_and_the_fields_there_are,
    answers_every_create_with_201_and_the_location_of_the_new_resource,
    answers_404_for_unknown_ids_and_routes_and_405_for_wrong_methods,
    refuses_a_customer_code_that_is_taken,
    refuses_bodies_over_one_mebibyte,
    reports_liveness_readiness_and_request_ids,
);
