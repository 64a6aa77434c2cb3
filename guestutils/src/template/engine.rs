//! A template compiled with minijinja (Jinja2 syntax), and what it may call besides the data:
//! `env(name, default)` and the `ident` filter.
//!
//! Settings: `trim_blocks` and `lstrip_blocks` on (a `{% ... %}` line leaves no blank line,
//! as in Ansible), the trailing newline kept, no auto-escaping whatever the file's name, and
//! *semi-strict* undefined values: printing or iterating a name that does not exist is an
//! error (a typo never renders as an empty string), while `{% if labels.X %}`,
//! `labels.X is defined` and `labels.X | default("y")` work.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::env::Env;

/// A compiled template.
#[derive(Debug)]
pub struct Template {
    engine: Environment<'static>,
    name: String,
}

impl Template {
    /// Compiles `source`; `name` appears in error messages (the file's path, say). `env` is
    /// what the template's `env()` function reads.
    pub fn compile(name: &str, source: String, env: &Env) -> Result<Self, minijinja::Error> {
        let mut engine = Environment::new();
        let mut syntax = SyntaxConfig::builder();
        syntax
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true);
        engine.set_syntax(syntax.build()?);
        engine.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        engine.set_auto_escape_callback(|_| AutoEscape::None);
        let env = env.clone();
        engine.add_function("env", move |name: &str, default: Option<Value>| {
            env.get(name)
                .map(Value::from)
                .or(default)
                .unwrap_or(Value::from(()))
        });
        engine.add_filter("ident", ident);
        engine.add_template_owned(name.to_string(), source)?;
        Ok(Template {
            engine,
            name: name.to_string(),
        })
    }

    /// Renders the template over `context` (see [`Catalog::context`](super::Catalog::context)).
    pub fn render(&self, context: &Value) -> Result<String, minijinja::Error> {
        self.engine.get_template(&self.name)?.render(context)
    }
}

/// The `ident` filter: `/shop/web` → `shop_web`. Every character but ASCII letters, digits,
/// `_`, `-` and `.` becomes `_`; leading and trailing `_` are dropped. Gives names HAProxy
/// and nginx accept for backends and upstreams.
fn ident(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, env: &Env) -> Result<String, minijinja::Error> {
        let context = minijinja::context! { revision => 1, apps => Vec::<Value>::new() };
        Template::compile("t.j2", source.to_string(), env)?.render(&context)
    }

    #[test]
    fn env_ident_and_whitespace() {
        let env = Env::from_pairs([("GROUP", "internal")]);
        let out = render(
            "{{ env('GROUP') }} {{ env('NONE', 'external') }} {{ env('NONE') is none }}\n\
             {% for x in [1, 2] %}\n  {{ '/shop/web' | ident }}\n{% endfor %}\n",
            &env,
        )
        .unwrap();
        assert_eq!(out, "internal external True\n  shop_web\n  shop_web\n");
    }

    #[test]
    fn an_unknown_name_is_an_error_but_may_be_tested() {
        let env = Env::default();
        let err = render("{{ revison }}", &env).unwrap_err();
        assert!(err.to_string().contains("t.j2:1"), "{err}");
        assert_eq!(
            render("{% if nope %}x{% endif %}{{ nope | default('d') }}", &env).unwrap(),
            "d"
        );
        assert!(Template::compile("t.j2", "{% for %}".into(), &env).is_err());
    }
}
