// A real OpenID Connect provider for geoloc's team-login tests (#36): oidc-provider (OpenID certified), on
// 127.0.0.1 only. Usage: node provider.mjs PORT REDIRECT_URI. Prints "READY <issuer>" once it listens.
//
// The users are defined here (the login form is oidc-provider's own devInteractions page: the login name is the
// account; the password field is not checked, which is why this provider lives under tests/ and nowhere else).
import Provider from "oidc-provider";

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
export const USERS = {
  alice: { email: "alice@example.org", email_verified: true, name: "Alice Analyst" },
  bob: { email: "bob@example.org", email_verified: true, name: "Bob Reporter" },
  // more users for a test, as JSON {login: claims}: the hostile-identity tests give names and e-mails that are payloads
  ...JSON.parse(process.env.GEOLOC_OIDC_EXTRA_USERS || "{}"),
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: "geoloc",
    client_secret: "geoloc-test-secret",
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri.replace(/\/oauth2callback$/, "/")],
    response_types: ["code"],
    grant_types: ["authorization_code"],
  }],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  conformIdTokenClaims: false, // the ID token carries the scopes' claims: Streamlit's st.user reads them there
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["geoloc-test-cookie-key-not-a-secret"] },
  async findAccount(ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...user }; } };
  },
  async loadExistingGrant(ctx) { // a first-party client: no consent page
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => console.log(`READY ${issuer}`));
