// Express 4, installed under the alias "express4" beside Express 5, has the same API for what the tests use.
declare module "express4" {
  import express from "express";
  export default express;
}
