// Types of the jose subpath exports lib/auth.ts imports: "moduleResolution":
// "node" does not read package exports. The same functions as jose's entry
// point exports (jose's own types), under the paths Node.js and esbuild resolve.
declare module 'jose/jwt/verify' {
  export { jwtVerify } from 'jose';
}
declare module 'jose/jwks/remote' {
  export { createRemoteJWKSet } from 'jose';
}
