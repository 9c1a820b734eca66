//! The global filter for values that look like secrets but are not:
//! placeholders, references to secrets kept elsewhere, and well-known
//! non-secret shapes (UUIDs, digests, data URIs, SRI hashes, public keys,
//! certificates).
//!
//! How much is dropped depends on the rule's confidence. A high-confidence
//! match has a distinctive prefix or a checksum, so only obvious
//! placeholders go. Medium and low rules rely on context, so defaults,
//! references and non-secret shapes go too, and nothing they find in a
//! dependency lock file is kept. Low (generic) rules also drop values that
//! read as code: identifiers, calls, paths, URLs, numbers, versions.

use crate::rules::Confidence;

/// Substrings (lower-case) that mark a value as a placeholder whatever the rule.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "xxxxx",
    "placeholder",
    "your_",
    "your-",
    "yourtoken",
    "yourkey",
    "yourpassword",
    "changeme",
    "change_me",
    "change-me",
    "replace_me",
    "replaceme",
    "redacted",
    "********",
    "<token>",
    "<secret>",
    "<password>",
    "${",
    "{{",
    "}}",
    "%(",
    "000000000000",
];

/// Extra markers for context rules (medium and low confidence), where an
/// ordinary word in the value usually means it is not a random secret.
const GENERIC_MARKERS: &[&str] = &[
    "dummy",
    "sample",
    "fake",
    "notreal",
    "not-real",
    "not_a_real",
    "insert",
    "secret_here",
    "token_here",
    "password_here",
    "key_here",
    "os.environ",
    "os.getenv",
    "getenv(",
    "process.env",
    "env(",
    "environ[",
    "secrets.",
    "vault:",
    "ssm:",
    "enc[",
    "arn:aws",
    "localhost",
    "1234567890",
    "abcdefgh",
    "qwerty",
    "password123",
    "hunter2",
    "todo",
    "fixme",
    "null",
    "undefined",
    "none",
    "...",
    "password",
    "passwd",
    "pass@word",
    "a1b2c3",
];

/// Passwords that ship as defaults or appear in tutorials: never a secret
/// worth reporting when a rule relies on context (medium/low confidence).
const DEFAULT_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "root",
    "admin",
    "administrator",
    "test",
    "testing",
    "tester",
    "user",
    "username",
    "guest",
    "redis",
    "mongo",
    "mongodb",
    "rabbitmq",
    "default",
    "demo",
    "dev",
    "development",
    "local",
    "letmein",
    "welcome",
    "sa",
    "oracle",
    "token",
    "apikey",
    "api_key",
    "mypassword",
    "mysecret",
    "supersecret",
    "topsecret",
    "s3cr3t",
    "p@ssw0rd",
    "passw0rd",
    "pa55word",
    "foobar",
    "foo",
    "bar",
    "baz",
    "app",
    "service",
    "docker",
    "airflow",
    "keycloak",
    "sonar",
    "jenkins",
    "minio",
    "minioadmin",
    "123456",
    "12345678",
    "abc123",
];

/// File names whose contents are package hashes and resolved URLs, never
/// credentials that only a context rule would find.
const LOCK_FILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "cargo.lock",
    "go.sum",
    "poetry.lock",
    "pipfile.lock",
    "uv.lock",
    "composer.lock",
    "gemfile.lock",
    "podfile.lock",
    "packages.lock.json",
    "gradle.lockfile",
    "mix.lock",
    "pubspec.lock",
    "flake.lock",
    ".terraform.lock.hcl",
];

/// Returns true when the secret should be dropped as a placeholder or a
/// non-secret shape.
pub fn is_placeholder(secret: &[u8], confidence: Confidence) -> bool {
    let lower = secret.to_ascii_lowercase();
    let s = String::from_utf8_lossy(&lower);
    if PLACEHOLDER_MARKERS.iter().any(|m| s.contains(m)) {
        return true;
    }
    if is_masked(secret) {
        return true;
    }
    if confidence == Confidence::High {
        return false;
    }
    if GENERIC_MARKERS.iter().any(|m| s.contains(m)) {
        return true;
    }
    if is_default_word(&s)
        || is_reference(secret)
        || is_uuid(secret)
        || is_data_uri(&s)
        || is_sri_hash(&s)
        || is_digest(&s)
        || is_public_key_or_certificate(secret)
        || is_repetitive(secret)
        || is_angle_or_bracket_wrapped(secret)
    {
        return true;
    }
    confidence == Confidence::Low && is_code_value(secret)
}

/// `is_placeholder`, plus the path: medium and low confidence rules are not
/// trusted in lock files, whose lines are all hashes and URLs.
pub fn is_placeholder_at(secret: &[u8], confidence: Confidence, path: Option<&str>) -> bool {
    if confidence != Confidence::High && path.is_some_and(is_lock_file) {
        return true;
    }
    is_placeholder(secret, confidence)
}

/// True for dependency lock files, by file name.
pub fn is_lock_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let name = name.to_ascii_lowercase();
    LOCK_FILES.iter().any(|l| name == *l)
}

/// A well-known default, possibly with a short numeric or `!` suffix
/// (`password1`, `admin123`, `root!`).
fn is_default_word(lower: &str) -> bool {
    let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!');
    let core = if core.is_empty() { lower } else { core };
    DEFAULT_WORDS.contains(&core) || DEFAULT_WORDS.contains(&lower)
}

/// Content digests: `sha256:<hex>` (image digests), `h1:<base64>` (go.sum),
/// `md5:`, and hex strings qualified by an algorithm name.
fn is_digest(lower: &str) -> bool {
    for prefix in [
        "sha1:", "sha256:", "sha384:", "sha512:", "md5:", "h1:", "blake2b:",
    ] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return !rest.is_empty();
        }
    }
    false
}

/// OpenSSH public keys and their base64 blobs, PEM public keys and
/// certificates: published by design.
fn is_public_key_or_certificate(s: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"ssh-rsa",
        b"ssh-ed25519",
        b"ssh-dss",
        b"ecdsa-sha2-",
        b"sk-ssh-ed25519@",
        b"sk-ecdsa-sha2-",
        b"AAAAB3NzaC1yc2E",
        b"AAAAC3NzaC1lZDI1NTE5",
        b"AAAAE2VjZHNhLXNoYTItbmlzdHA",
        b"AAAAB3NzaC1kc3M",
    ];
    if PREFIXES.iter().any(|p| s.starts_with(p)) {
        return true;
    }
    const PEM_PUBLIC: &[&[u8]] = &[
        b"-----BEGIN PUBLIC KEY",
        b"-----BEGIN RSA PUBLIC KEY",
        b"-----BEGIN CERTIFICATE",
        b"-----BEGIN X509 CRL",
        b"-----BEGIN PGP PUBLIC KEY",
        b"-----BEGIN SSH2 PUBLIC KEY",
        b"-----BEGIN CERTIFICATE REQUEST",
        b"-----BEGIN NEW CERTIFICATE REQUEST",
        b"-----BEGIN TRUSTED CERTIFICATE",
    ];
    PEM_PUBLIC
        .iter()
        .any(|p| memchr::memmem::find(s, p).is_some())
}

/// For generic rules only: values that are code or configuration rather
/// than a secret literal. Identifiers (`self.password`, `db_password`,
/// `DB_PASSWORD`, `getPassword`), calls and indexing (`ENV.fetch(`,
/// `Configuration[`), file paths, URLs, numbers, versions and booleans.
fn is_code_value(s: &[u8]) -> bool {
    if s.contains(&b'(') || s.contains(&b')') {
        return true;
    }
    if s.contains(&b'[')
        && s.first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return true;
    }
    if is_file_path(s) || memchr::memmem::find(s, b"://").is_some() || has_at_domain(s) {
        return true;
    }
    if s.iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b':' | b'_' | b'+' | b'/'))
    {
        return true;
    }
    if is_version(s) || is_number_literal(s) || is_uuid_shaped(s) || is_timestamp(s) {
        return true;
    }
    // `quote_spanned!`, `vec!`: a macro call in Rust.
    if let Some(name) = s.strip_suffix(b"!") {
        if is_identifier(name) {
            return true;
        }
    }
    // A trailing `*` on a name is a glob (`arn:...:secret:rds!*`,
    // `AmazonMSK_*`).
    if s.last() == Some(&b'*')
        && s.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'!' | b':' | b'*' | b'-')
        })
    {
        return true;
    }
    // Password hashes in crypt(3) form: `$2y$05$...`, `$argon2id$...`.
    for scheme in [
        &b"$2a$"[..],
        b"$2b$",
        b"$2y$",
        b"$argon2",
        b"$pbkdf2",
        b"$scrypt$",
        b"$5$",
        b"$6$",
    ] {
        if memchr::memmem::find(s, scheme).is_some() {
            return true;
        }
    }
    // `#` starts a comment, a colour or an anchor, never a credential in
    // the configurations this rule reads.
    if s.first() == Some(&b'#') {
        return true;
    }
    // `name=value` inside the value: a nested setting, not a secret. Base64
    // puts `=` only at the end.
    if let Some(eq) = s.iter().position(|&b| b == b'=') {
        if s[eq..].iter().any(|&b| b != b'=') {
            return true;
        }
    }
    // Short lower-case hex: ids, short hashes and digests, not keys, which
    // run to 32 hex characters or more.
    if s.len() < 20
        && s.iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'a'..=b'f'))
    {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_slice(),
        b"true" | b"false" | b"yes" | b"no" | b"on" | b"off" | b"nil" | b"required" | b"optional"
    ) {
        return true;
    }
    is_identifier(s)
}

/// Integer literals with a type suffix or a radix prefix, as generated
/// bindings write them: `1048576u32`, `-2146368492i32`, `0x8004E10E`.
fn is_number_literal(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    if let Some(hex) = s.strip_prefix(b"0x").or_else(|| s.strip_prefix(b"0X")) {
        return !hex.is_empty() && hex.iter().all(|b| b.is_ascii_hexdigit() || *b == b'_');
    }
    let digits = s
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'_')
        .count();
    if digits == 0 {
        return false;
    }
    let suffix = &s[digits..];
    matches!(
        suffix,
        b"u8"
            | b"u16"
            | b"u32"
            | b"u64"
            | b"u128"
            | b"usize"
            | b"i8"
            | b"i16"
            | b"i32"
            | b"i64"
            | b"i128"
            | b"isize"
            | b"f32"
            | b"f64"
            | b"L"
            | b"UL"
            | b"ULL"
            | b"LL"
            | b"u"
            | b"U"
    )
}

/// ISO 8601 dates and times: `2016-09-24T16:18:07Z`, `2022-03-16 03:45:09+00:00`.
fn is_timestamp(s: &[u8]) -> bool {
    s.len() >= 10
        && s[..4].iter().all(u8::is_ascii_digit)
        && s[4] == b'-'
        && s.iter().all(|b| {
            b.is_ascii_digit() || matches!(b, b'-' | b':' | b'T' | b'Z' | b'+' | b'.' | b' ')
        })
}

/// 8-4-4-4-12 groups of letters and digits: a UUID, or a documentation
/// stand-in for one.
fn is_uuid_shaped(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_alphanumeric(),
        })
}

/// `1.2.3`, `v2.0.1-beta.1`, `10.4+build5`.
fn is_version(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"v").unwrap_or(s);
    let core_end = s
        .iter()
        .position(|b| matches!(b, b'-' | b'+'))
        .unwrap_or(s.len());
    let core = &s[..core_end];
    let parts: Vec<&[u8]> = core.split(|&b| b == b'.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
}

/// `...@host.tld`: an e-mail address or the rest of a URL's userinfo,
/// caught when a name like `x-access-token:` sits inside a URL.
fn has_at_domain(s: &[u8]) -> bool {
    memchr::memchr_iter(b'@', s).any(|at| {
        let rest = &s[at + 1..];
        // Host names in configuration are written in lower case; random
        // text after an `@` almost never is, for a whole label and TLD.
        let label = rest
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'-')
            .count();
        if label < 2 || !rest[0].is_ascii_lowercase() || rest.get(label) != Some(&b'.') {
            return false;
        }
        let after = &rest[label + 1..];
        let tld = after.iter().take_while(|b| b.is_ascii_lowercase()).count();
        tld >= 2
            && after
                .get(tld)
                .is_none_or(|b| matches!(b, b'/' | b':' | b'.'))
    })
}

fn is_file_path(s: &[u8]) -> bool {
    let explicit = [&b"./"[..], b"../", b"~/", b"file:", b"\\\\"];
    if explicit.iter().any(|p| s.starts_with(p)) {
        return true;
    }
    // A leading `/` is also how one base64 value in 64 starts, so an
    // absolute path must read like one: every part a word or a number.
    if let Some(rest) = s.strip_prefix(b"/") {
        let words = rest
            .split(|b| matches!(b, b'/' | b'.' | b'-' | b'_'))
            .filter(|w| !w.is_empty())
            .all(|w| {
                w.iter().all(u8::is_ascii_digit)
                    || is_name_word(w)
                    || w.iter()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if words {
            return true;
        }
    }
    if s.len() > 2 && s[0].is_ascii_alphabetic() && s[1] == b':' && s[2] == b'\\' {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    const EXTS: &[&[u8]] = &[
        b".pem",
        b".key",
        b".crt",
        b".cer",
        b".der",
        b".p12",
        b".pfx",
        b".jks",
        b".keystore",
        b".json",
        b".txt",
        b".yaml",
        b".yml",
        b".env",
        b".cfg",
        b".conf",
        b".ini",
        b".gpg",
        b".asc",
        b".pub",
        b".toml",
        b".xml",
        b".properties",
    ];
    EXTS.iter().any(|e| lower.ends_with(e))
}

/// Identifier shapes: dotted names, snake_case, SCREAMING_CASE, and
/// letters-only words in camel or Pascal case. A random secret almost
/// always mixes in digits or runs of capitals, which these lack.
fn is_identifier(s: &[u8]) -> bool {
    let Some(&first) = s.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    let is_separator = |b: &u8| matches!(b, b'_' | b'.' | b'-' | b'/' | b':');
    if !s
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || is_separator(b))
    {
        return false;
    }
    // Dots, slashes and colons join names in references (`var.x`,
    // `secret/data/ci`, `prod/api:SecretString`), whatever their case.
    let qualified = s.iter().any(|b| matches!(b, b'.' | b'/' | b':'));
    // A one-letter first part is a receiver or a short variable
    // (`f.ClientSecret`, `t.AccessToken` in Go).
    let segments_are_names = s
        .split(is_separator)
        .filter(|seg| !seg.is_empty())
        .enumerate()
        .all(|(i, seg)| {
            is_name_word(seg)
                || (s.contains(&b'.') && camel_words(seg, 4))
                || is_camel_words(seg)
                || (i == 0 && seg.len() == 1 && seg[0].is_ascii_alphabetic())
        });
    // kebab-case and snake_case prose (`not-a-real-password`) may have
    // one-letter words.
    let segments_are_words = s
        .split(is_separator)
        .filter(|seg| !seg.is_empty())
        .all(|seg| {
            let letters = seg.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            letters > 0 && seg.len() - letters <= 2 && seg[letters..].iter().all(u8::is_ascii_digit)
        });
    let has_separator = s.iter().any(is_separator);
    let all_lower = !s.iter().any(u8::is_ascii_uppercase);
    let all_upper = !s.iter().any(u8::is_ascii_lowercase);
    // Train-Case joined by dashes: HTTP header names (`X-Amz-Security-Token`).
    let header_name =
        s.contains(&b'-') && !s.iter().any(|b| matches!(b, b'.' | b'_' | b'/' | b':'));
    if has_separator && segments_are_names && header_name && s[0].is_ascii_uppercase() {
        return true;
    }
    if has_separator && segments_are_names && (all_lower || all_upper || qualified) {
        return true;
    }
    if has_separator && segments_are_words && (all_lower || all_upper) {
        return true;
    }
    // SCREAMING_SNAKE constants may carry digits anywhere (`D3DVSD_TOKENTYPE`).
    if all_upper
        && s.contains(&b'_')
        && s.split(|&b| b == b'_')
            .filter(|seg| !seg.is_empty())
            .all(|seg| seg.iter().any(u8::is_ascii_uppercase) || seg.iter().all(u8::is_ascii_digit))
    {
        return true;
    }
    if has_separator {
        return s
            .split(is_separator)
            .filter(|seg| !seg.is_empty())
            .all(|seg| seg.iter().all(u8::is_ascii_digit) || is_camel_words(seg))
            && s.split(is_separator).any(is_camel_words);
    }
    is_camel_words(s)
}

/// CamelCase or PascalCase words, digits allowed (`X509CertificateFlag`,
/// `IncompleteArrayField`, `getPassword`, `HTTPSConnection`): split into
/// words (a capital and its lower-case run, an acronym, a number), every
/// lower-case word has three letters or more and acronyms stay short.
/// Random text breaks into one- and two-letter pieces or long capital runs.
fn is_camel_words(s: &[u8]) -> bool {
    camel_words(s, 6)
}

/// `is_camel_words` with the least share of lower-case letters, in tenths.
/// Parts of a dotted path (`tokenRes.IDToken`) are already unlikely to be
/// random, so they get a lower bar than a bare value.
fn camel_words(s: &[u8], min_lower_tenths: usize) -> bool {
    if s.len() < 2 || !s.iter().all(u8::is_ascii_alphanumeric) || !s[0].is_ascii_alphabetic() {
        return false;
    }
    if is_name_word(s) {
        return true;
    }
    // Names are mostly lower case and keep digits to one group inside
    // (`X509Certificate`) plus a version at the end; random text scatters
    // capitals and digits.
    let letters = s.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let lower = s.iter().filter(|b| b.is_ascii_lowercase()).count();
    if lower * 10 < letters * min_lower_tenths {
        return false;
    }
    let trimmed_len = s
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let inner_digit_groups = s[..trimmed_len]
        .windows(2)
        .filter(|w| !w[0].is_ascii_digit() && w[1].is_ascii_digit())
        .count();
    if inner_digit_groups > 1 {
        return false;
    }
    let mut has_lower_word = false;
    // One short capitalised word is a name's (`Fn`, `Id`, `Am`); several
    // are noise.
    let mut short_words = 0;
    let mut i = 0;
    while i < s.len() {
        let start = i;
        if s[i].is_ascii_digit() {
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        if s[i].is_ascii_uppercase() {
            let mut j = i;
            while j < s.len() && s[j].is_ascii_uppercase() {
                j += 1;
            }
            let next_lower = s.get(j).is_some_and(u8::is_ascii_lowercase);
            if j - i > 1 || !next_lower {
                // An acronym; when lower case follows, its last capital
                // starts the next word (`HTTPSConnection`).
                let end = if next_lower { j - 1 } else { j };
                if end - i > 5 {
                    return false;
                }
                i = end;
                continue;
            }
            i = j;
        }
        while i < s.len() && s[i].is_ascii_lowercase() {
            i += 1;
        }
        let len = i - start;
        if len == 2 && s[start].is_ascii_uppercase() && short_words == 0 {
            short_words += 1;
        } else if len < 3 {
            return false;
        }
        has_lower_word = true;
    }
    has_lower_word
}

/// One word of a name: `db`, `password`, `SECRET`, `getPassword`,
/// `SecretString`, `oauth2`. At least two letters, digits only at the end
/// (at most two), and each capital starts a lower-case run unless the
/// whole word is capitals. Random text rarely fits: it puts capitals side
/// by side or digits in the middle.
fn is_name_word(seg: &[u8]) -> bool {
    let letters_end = seg
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let (core, digits) = seg.split_at(letters_end);
    if core.len() < 2 || digits.len() > 2 || !core.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    if core.iter().all(u8::is_ascii_uppercase) {
        return true;
    }
    core.iter().enumerate().all(|(i, b)| {
        !b.is_ascii_uppercase() || core.get(i + 1).is_some_and(u8::is_ascii_lowercase)
    })
}

/// Values like `****`, `...`, `<...>`: already masked or elided.
fn is_masked(secret: &[u8]) -> bool {
    let masking = secret
        .iter()
        .filter(|&&b| matches!(b, b'*' | b'.' | b'#' | b'?' | b'x' | b'X' | b'-' | b'_'))
        .count();
    secret.len() >= 4 && masking * 10 >= secret.len() * 8
}

/// `$VAR`, `${VAR}`, `$(cmd)`, `%VAR%`, `@Value(...)`: the value lives elsewhere.
fn is_reference(s: &[u8]) -> bool {
    let word_after_first = |s: &[u8]| {
        s.len() > 2
            && s[1..]
                .split(|&b| b == b'.')
                .all(|w| !w.is_empty() && w.iter().all(u8::is_ascii_alphabetic))
    };
    match s.first() {
        Some(b'$') => return true,
        // `@name` (C#, Ruby, Spring) and `!Tag` (YAML, CloudFormation); a
        // random password may start with either, so only a plain word counts.
        Some(b'@') | Some(b'!') if word_after_first(s) => return true,
        Some(b'%')
            if s.len() > 2
                && s.last() == Some(&b'%')
                && s[1..s.len() - 1]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
        {
            return true
        }
        _ => {}
    }
    if has_format_verb(s) {
        return true;
    }
    const FORMS: &[&[u8]] = &[
        b"#{",
        b"<%",
        b"{0}",
        b"{1}",
        b"ref+",
        b"op://",
        b"akv:",
        b"secretsmanager",
        b"keyvault",
        b"parameterstore",
    ];
    let lower = s.to_ascii_lowercase();
    FORMS
        .iter()
        .any(|f| memchr::memmem::find(&lower, f).is_some())
}

/// A printf verb standing alone (`%s`, `%v`, `%d`, `%q`), as in a format
/// string that builds the credential at run time.
/// printf verbs (`%s`, `%v`, `%d`, `%q`) with little else around them: a
/// format string that builds the credential at run time. A random password
/// may contain `%d` by chance, but then plenty of other characters too.
fn has_format_verb(s: &[u8]) -> bool {
    let mut verbs = 0;
    let mut other_alphanumerics = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && s.get(i + 1)
                .is_some_and(|b| matches!(b, b's' | b'v' | b'd' | b'q'))
        {
            verbs += 1;
            i += 2;
            continue;
        }
        if s[i].is_ascii_alphanumeric() {
            other_alphanumerics += 1;
        }
        i += 1;
    }
    verbs > 0 && other_alphanumerics < 8
}

fn is_angle_or_bracket_wrapped(s: &[u8]) -> bool {
    matches!(
        (s.first(), s.last()),
        (Some(b'<'), Some(b'>')) | (Some(b'['), Some(b']')) | (Some(b'{'), Some(b'}'))
    )
}

pub fn is_uuid(s: &[u8]) -> bool {
    if s.len() != 36 {
        return false;
    }
    s.iter().enumerate().all(|(i, &b)| match i {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

fn is_data_uri(s: &str) -> bool {
    s.starts_with("data:")
}

fn is_sri_hash(s: &str) -> bool {
    ["sha256-", "sha384-", "sha512-", "sha1-"]
        .iter()
        .any(|p| s.starts_with(p))
}

/// One or two characters repeated, or a run of a single character that
/// fills most of the value.
fn is_repetitive(s: &[u8]) -> bool {
    if s.len() < 6 {
        return false;
    }
    let mut distinct = [false; 256];
    let mut n = 0;
    for &b in s {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            n += 1;
        }
    }
    n <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_dropped() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "your-api-key-here",
            "${GITHUB_TOKEN}",
            "{{ secrets.NPM_TOKEN }}",
            "<token>",
            "changeme",
            "xxxxxxxxxxxxxxxxxxxx",
            "****************",
        ] {
            assert!(is_placeholder(p.as_bytes(), Confidence::Low), "{p}");
        }
    }

    #[test]
    fn generic_shapes_are_dropped_for_low_confidence_only() {
        let u = b"123e4567-e89b-12d3-a456-426614174000";
        assert!(is_placeholder(u, Confidence::Low));
        assert!(!is_placeholder(u, Confidence::High));
        assert!(is_placeholder(
            b"sha512-abcDEF0123456789+/==",
            Confidence::Low
        ));
        assert!(is_placeholder(b"$DB_PASSWORD", Confidence::Low));
    }

    #[test]
    fn real_looking_values_survive() {
        assert!(!is_placeholder(b"s3cR3t-Pa55w0rd!9", Confidence::Low));
        assert!(!is_placeholder(
            b"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            Confidence::High
        ));
    }

    #[test]
    fn references_are_dropped_for_context_rules() {
        for r in [
            "$DB_PASSWORD",
            "!Ref",
            "@Value",
            "%s",
            "%s:%s@%s",
            "%DB_PASSWORD%",
            "#{db_password}",
            "<%= ENV['X'] %>",
            "{0}",
            "ref+vault://secret/db#password",
            "op://vault/item/password",
        ] {
            assert!(is_placeholder(r.as_bytes(), Confidence::Medium), "{r}");
        }
    }

    #[test]
    fn default_passwords_are_dropped_below_high() {
        for w in [
            "postgres",
            "Password1",
            "admin123",
            "root",
            "guest",
            "secret",
        ] {
            assert!(is_placeholder(w.as_bytes(), Confidence::Medium), "{w}");
        }
        assert!(!is_placeholder(b"Vq7Lr2Nx9Wt4Kp", Confidence::Medium));
    }

    #[test]
    fn digests_public_keys_and_certificates_are_dropped() {
        for v in [
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "h1:Zq8rT2mX9vL4Kp7Wn3Bd6Hs1Jf5Gc0Ye8Ua2Ri4To6=",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq7Rk2m deploy@ci",
            "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7",
            "-----BEGIN PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE-----",
            "data:image/png;base64,iVBORw0KGgo=",
            "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K",
        ] {
            assert!(is_placeholder(v.as_bytes(), Confidence::Medium), "{v}");
        }
        assert!(!is_placeholder(
            b"-----BEGIN RSA PRIVATE KEY-----",
            Confidence::Medium
        ));
    }

    #[test]
    fn code_values_are_dropped_for_generic_rules_only() {
        for v in [
            "self.password",
            "var.db_password",
            "db_password_value",
            "DB_PASSWORD_VALUE",
            "getPassword",
            "SecretString",
            "oauth2.client_secret",
            "X509CertificateTemplatePrivateKeyFlag",
            "HTTPSConnectionPool",
            "f.ClientSecret",
            "d.Credential.ClientSecret",
            "tokenRes.IDToken",
            "X-Amz-Security-Token",
            "testuser:$2y$05$sBsSqk0OpSD1uTZkHXc4FeJ0Z70wLQdAX",
            "NCryptSecretAgreementFn",
            "IAmSensitive",
            "rds-custom!*",
            "__IncompleteArrayField",
            "_bindgen_ty_7",
            "c85175a4ebcce361",
            "1048576u32",
            "-2146368492i32",
            "0x8004E10E",
            "D3DVSD_TOKENTYPE",
            "#ansibrightred",
            "Enabled=true",
            "4AEA6u7J...The",
            "Pass@Word1",
            "2016-09-24T16:18:07Z",
            "quote_spanned!",
            "yh^%#rest-of-my-password",
            "not-a-real-password",
            "%s@github.com/acme/orders.git",
            "ci-bot@acme.io",
            "ENV.fetch",
            "Configuration[",
            "/run/secrets/db_password",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "/etc/ssl/private/server-2024.key",
            "./certs/server.key",
            "https://vault.corp/v1/secret",
            "1.2.3-beta",
            "secret/data/ci",
            "prod/api:SecretString:token",
            "20240115",
        ] {
            assert!(is_placeholder(v.as_bytes(), Confidence::Low), "{v}");
        }
        // The same shapes are not judged for medium rules, whose regexes
        // already pin the value's format.
        assert!(!is_placeholder(b"self.db_creds", Confidence::Medium));
        for v in [
            "Wq8Zt3Lk6Nv1Rx",
            "ZqrTmXvLKpWnBdHsQe",
            "Kq7!vR2#mW9z",
            "0~~47EoM9jY#n~XA-%DsUM2",
            "/9HSDj4GKjGezFgYN2tHJ+",
            "/YFzFaotMM/L5Wu7Q7",
            "@w9dH5p7sMUbJ@@8ck09xlwzQV",
            "!6KLeVtVpAnBqkFGsoGz6ut~",
            "Zq8@r2Kv9Lt4Wn",
            "@w9dH5p7sMUbJ@@8ck09xlwzQV-rPpX.JKpwb~%@nvH+7CTHm0",
            "XDISlVZ4#o^oBAttm@X.Jx0aBkrLHv",
            "k3@ab.cdEf9Zq",
            "nvH7CTHm0pZeXcip7Hv0hZNEZ7HSkwcdIiwHSLZU",
            "7d1f9c3b8a2e4f6d0c5b9a8e7f3d2c1b",
            "Rk9Xw2Vq4Lm7Tz",
            "If*1Lfn^32n3Pd2F.Yb**9#!zOk%y8k*",
            "hwrBKibHOS58QC_wzo",
            "nh+*-6Lm*@r4c2XADVf+@6p.ag",
            "REJiWihfXnubn3WN",
            "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",
            "AKIAE52DVP63WIXNOWDF",
            "glft-BQVFdUhYKeDFMFZJMO85",
            "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",
            "DXjSUawnel2fr6SKC7G25CNxTyWKE5PF9XX6H/u9pSo=",
            "!CfLWVtwXAly_uOq.xqzIP2s",
            "NEo2ruI.P6Ub-G.f0",
            "J.h_uJ_wgCs1",
            "sV0lSz.vwLtm",
            "g9NPPapQGrJEBBmaxWW%5WzZS^#KV%d",
            "%l!9eP#hQWV#%",
        ] {
            assert!(!is_placeholder(v.as_bytes(), Confidence::Low), "{v}");
        }
    }

    #[test]
    fn lock_files_drop_context_rules_but_not_high_confidence() {
        let hash = b"Rw6Kz1Vq9Lt3XmPa8Ys2";
        for p in [
            "web/package-lock.json",
            "yarn.lock",
            "svc/pnpm-lock.yaml",
            "Cargo.lock",
            "go.sum",
            "poetry.lock",
            "composer.lock",
            "Gemfile.lock",
        ] {
            assert!(is_lock_file(p), "{p}");
            assert!(is_placeholder_at(hash, Confidence::Low, Some(p)), "{p}");
            assert!(!is_placeholder_at(hash, Confidence::High, Some(p)), "{p}");
        }
        assert!(!is_lock_file("src/lock.rs"));
        assert!(!is_placeholder_at(
            hash,
            Confidence::Low,
            Some("config/app.yaml")
        ));
        assert!(!is_placeholder_at(hash, Confidence::Low, None));
    }
}
