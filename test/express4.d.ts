// Express 4, installed as the `express4` alias next to Express 5 for the response-hold tests. Its API is
// typed here with Express 5's types, which cover what those tests use (app, routes, res.redirect/cookie/send).
declare module 'express4' {
  import express from 'express';
  export default express;
}
