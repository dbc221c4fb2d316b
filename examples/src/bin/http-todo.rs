//! A small JSON API on the runtime's own HTTP types, as a `Runner` on the tokio adapter: the
//! to-do list lives in the execution environment's `Shared` state (so it lasts as long as the
//! environment does, and each environment has its own).
//!
//! - `GET /todos`: every to-do, `[{"id":1,"title":"…","done":false}]`;
//! - `POST /todos` with `{"title":"…"}` (`done` optional): `201`, the new to-do, `Location`;
//! - `GET /todos/{id}`: the to-do, or `404` `{"error":"no to-do 7"}`;
//! - a body that is not such JSON: `400`; another method on a known path: `405` with `Allow`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --http 9000 -- cargo run -p examples --bin http-todo
//! curl -i -d '{"title":"write the docs"}' -H 'content-type: application/json' http://127.0.0.1:9000/todos
//! curl -i http://127.0.0.1:9000/todos/1
//! ```

use lambda_runtime_types_tokio::lambda_runtime_types::http::{
    HttpRequest, HttpResponse, LambdaHttpResponse,
};
use lambda_runtime_types_tokio::{LambdaEvent, Runner};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

#[derive(Clone, Serialize)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
}

#[derive(Deserialize)]
struct NewTodo {
    title: String,
    #[serde(default)]
    done: bool,
}

#[derive(Default)]
struct Todos {
    next_id: u64,
    items: Vec<Todo>,
}

struct Api;

impl<'a> Runner<'a, Mutex<Todos>, HttpRequest, LambdaHttpResponse> for Api {
    async fn setup(_region: &'a str) -> anyhow::Result<Mutex<Todos>> {
        Ok(Mutex::new(Todos {
            next_id: 1,
            items: Vec::new(),
        }))
    }

    async fn run(
        todos: &'a Mutex<Todos>,
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        let req = event.event;
        let answer = route(todos, &req).await?;
        Ok(req.respond(answer))
    }
}

/// `{"error": message}` with `status`.
fn error(status: u16, message: &str) -> anyhow::Result<HttpResponse> {
    Ok(HttpResponse::json(&serde_json::json!({ "error": message }))?.status(status))
}

async fn route(todos: &Mutex<Todos>, req: &HttpRequest) -> anyhow::Result<HttpResponse> {
    let segments: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        ("GET", ["todos"]) => Ok(HttpResponse::json(&todos.lock().await.items)?),
        ("POST", ["todos"]) => {
            let Ok(new) = serde_json::from_slice::<NewTodo>(req.body()) else {
                return error(400, r#"expected {"title": "…"}"#);
            };
            let mut todos = todos.lock().await;
            let todo = Todo {
                id: todos.next_id,
                title: new.title,
                done: new.done,
            };
            todos.next_id += 1;
            todos.items.push(todo.clone());
            Ok(HttpResponse::json(&todo)?
                .status(201)
                .header("location", format!("/todos/{}", todo.id)))
        }
        ("GET", ["todos", id]) => {
            let todos = todos.lock().await;
            let wanted = id.parse::<u64>().ok();
            match todos.items.iter().find(|t| Some(t.id) == wanted) {
                Some(todo) => Ok(HttpResponse::json(todo)?),
                None => error(404, &format!("no to-do {id}")),
            }
        }
        (_, ["todos"]) => Ok(error(405, "method not allowed")?.header("allow", "GET, POST")),
        (_, ["todos", _]) => Ok(error(405, "method not allowed")?.header("allow", "GET")),
        _ => error(404, "not found"),
    }
}

fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::run(Api)
}

/// The API's routes, driven with requests from `HttpRequest::builder`: no emulator, no JSON.
#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime_types_tokio::lambda_runtime_types::http::Origin;
    use serde_json::{Value, json};

    /// `req`'s answer as the function URL's response JSON.
    fn call(todos: &Mutex<Todos>, req: HttpRequest) -> Value {
        let answer = pollster::block_on(route(todos, &req)).unwrap();
        serde_json::to_value(req.respond(answer)).unwrap()
    }

    fn request(method: &str, path: &str) -> HttpRequest {
        let req = HttpRequest::builder(Origin::FunctionUrl)
            .method(method)
            .path(path);
        req.header("content-type", "application/json").build()
    }

    fn with_body(method: &str, path: &str, body: &str) -> HttpRequest {
        let req = HttpRequest::builder(Origin::FunctionUrl)
            .method(method)
            .path(path);
        req.header("content-type", "application/json")
            .body(body)
            .build()
    }

    #[test]
    fn create_then_read() {
        let todos = Mutex::new(Todos {
            next_id: 1,
            items: Vec::new(),
        });
        let created = call(&todos, with_body("POST", "/todos", r#"{"title":"docs"}"#));
        assert_eq!(created["statusCode"], 201);
        assert_eq!(created["headers"]["location"], "/todos/1");
        let todo: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
        assert_eq!(todo, json!({"id": 1, "title": "docs", "done": false}));

        let read = call(&todos, request("GET", "/todos/1"));
        assert_eq!(read["statusCode"], 200);
        assert_eq!(read["body"], created["body"]);
        let all = call(&todos, request("GET", "/todos"));
        assert_eq!(
            all["body"],
            format!("[{}]", created["body"].as_str().unwrap())
        );
    }

    #[test]
    fn errors_are_answers() {
        let todos = Mutex::new(Todos::default());
        let missing = call(&todos, request("GET", "/todos/7"));
        assert_eq!(missing["statusCode"], 404);
        assert_eq!(missing["body"], r#"{"error":"no to-do 7"}"#);
        let bad = call(&todos, with_body("POST", "/todos", r#"{"name":"x"}"#));
        assert_eq!(bad["statusCode"], 400);
        let method = call(&todos, request("DELETE", "/todos"));
        assert_eq!(method["statusCode"], 405);
        assert_eq!(method["headers"]["allow"], "GET, POST");
        assert_eq!(call(&todos, request("GET", "/nope"))["statusCode"], 404);
    }
}
