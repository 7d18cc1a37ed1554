//! Pooled connections that keep their prepared statements.
//!
//! The `postgres` client prepares a statement on every `query(&str, …)`: a
//! round trip to parse and describe it, and a fresh plan on the server,
//! before the round trip that runs it. A card check makes six such calls,
//! so on loopback half of its time went to preparing the same six texts
//! again. [`CachedClient`] keeps each connection's statements by their text
//! and shadows the client's `query`, `query_one`, `query_opt` and `execute`
//! for SQL text, so every call site of the store gets them without change.
//! A statement belongs to its connection, so the cache lives and dies with
//! it; it is emptied when it holds [`CachedClient::CAPACITY`] texts.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use ::postgres::types::ToSql;
use ::postgres::{Client, Error, NoTls, Row, Statement};
use r2d2::ManageConnection;
use r2d2_postgres::PostgresConnectionManager;

/// A client and the statements prepared on it.
pub(crate) struct CachedClient {
    client: Client,
    statements: HashMap<String, Statement>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl CachedClient {
    /// The most statement texts one connection keeps.
    pub(crate) const CAPACITY: usize = 512;

    /// The statement for `sql`, prepared on this connection once.
    pub(crate) fn prepared(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.statements.len() >= Self::CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let st = self.prepared(sql)?;
        self.client.query(&st, params)
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let st = self.prepared(sql)?;
        self.client.query_one(&st, params)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, Error> {
        let st = self.prepared(sql)?;
        self.client.query_opt(&st, params)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let st = self.prepared(sql)?;
        self.client.execute(&st, params)
    }
}

impl Deref for CachedClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for CachedClient {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// r2d2's manager for [`CachedClient`]s.
#[derive(Debug)]
pub(crate) struct Manager(pub(crate) PostgresConnectionManager<NoTls>);

impl ManageConnection for Manager {
    type Connection = CachedClient;
    type Error = Error;

    fn connect(&self) -> Result<CachedClient, Error> {
        Ok(CachedClient {
            client: self.0.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, c: &mut CachedClient) -> Result<(), Error> {
        self.0.is_valid(&mut c.client)
    }

    fn has_broken(&self, c: &mut CachedClient) -> bool {
        self.0.has_broken(&mut c.client)
    }
}
