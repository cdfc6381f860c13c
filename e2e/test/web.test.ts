// The web client in a real browser (Debian's Chromium, playwright-core) against the real gateway
// and subgraphs on real Postgres. The panel runs on a gateway with TRUSTED_DOCUMENTS=enforce, so
// every operation it sends must be one of its trusted documents; GraphiQL runs on the harness's
// own gateway (explorer on). Screenshots of every page land in .ci/artifacts/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  ADMIN,
  INSECURE_TEST_HOST,
  addMeal,
  createCourse,
  launchBrowser,
  screenshotPath,
  startFederation,
  topUp,
  uniqueCode,
  type Federation,
} from "@pooya/e2e";

let fed: Federation;
let panelUrl: string;
let browser: Browser;
let student: Awaited<ReturnType<Federation["createUser"]>>;
let teacher: Awaited<ReturnType<Federation["createUser"]>>;
let course: { id: string; code: string };
const mealName = `Ash reshteh ${uniqueCode("")}`;
const startingBalance = 50_000;
const price = 2_700;

/** Waits (up to 20 s) until the value passes the assertion that follows. */
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });

const localDate = (offset = 0) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function newPage(options: { width?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: 900 },
    timezoneId: "UTC",
  });
  const page = await context.newPage();
  // What the page itself reports goes into the test's output (a failure then says why).
  page.on("pageerror", (error) => console.error(`[browser] ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") console.error(`[browser console] ${message.text()}`);
  });
  return { context, page };
}

async function signIn(page: Page, email: string, password: string, base = panelUrl) {
  await page.goto(`${base}/`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A page of the panel, by its name in the navigation. */
const goTo = (page: Page, name: string) =>
  page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name, exact: true }).click();

async function shot(page: Page, name: string) {
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
}

beforeAll(async () => {
  fed = await startFederation();
  // CORS_ORIGINS lists another origin: the panel calls its own origin, which needs no listing,
  // whatever address or hostname it is opened at.
  const enforcing = await fed.startGateway({ TRUSTED_DOCUMENTS: "enforce", CORS_ORIGINS: "https://pooya.example.edu" });
  panelUrl = enforcing.url;
  [student, teacher] = await Promise.all([
    fed.createUser("STUDENT", "Sara Student"),
    fed.createUser("TEACHER", "Tara Teacher"),
  ]);
  course = await createCourse(fed, teacher, { code: uniqueCode("WEB"), title: "Web things" });
  await topUp(fed, student.id, startingBalance);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await fed?.close();
});

describe("the web client", () => {
  it("is served at / with cached, compressed assets", async () => {
    const page = await fetch(`${panelUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${panelUrl}${script}`, { headers: { "accept-encoding": "br" } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-encoding")).toBe("br");
    expect(asset.headers.get("cache-control")).toContain("immutable");
  });

  it("shows a wrong password next to the form, in words", async () => {
    const { context, page } = await newPage();
    await signIn(page, student.email, "not the password");
    await eventually(() => page.getByRole("alert").textContent()).toContain("Email or password is wrong");
    await shot(page, "01-sign-in-wrong-password");
    await context.close();
  });

  it("lets staff add a meal that a student then sees", async () => {
    const { context, page } = await newPage();
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await shot(page, "20-staff-people");
    await goTo(page, "Meals");
    const form = page.getByRole("form", { name: "Add a meal" });
    await form.getByLabel("Name").fill(mealName);
    await form.getByLabel("Serving date").fill(localDate(0));
    await form.getByLabel("Price").fill(String(price));
    await form.getByLabel("Stock").fill("40");
    await form.getByRole("button", { name: "Add meal" }).click();
    await eventually(() => page.getByRole("status").textContent()).toMatch(`${mealName} is on the menu`);
    await shot(page, "22-staff-meals");
    // A refused input is shown at its field (extensions.field), not as a bare error.
    await form.getByLabel("Name").fill("Free lunch");
    await form.getByLabel("Price").fill("2000000000");
    await form.getByRole("button", { name: "Add meal" }).click();
    await eventually(() => form.locator(".field-error").textContent()).toMatch(/price/i);
    await goTo(page, "Courses");
    await page.getByRole("form", { name: "Create a course" }).waitFor();
    await shot(page, "21-staff-courses");
    await goTo(page, "Wallets");
    await page.getByRole("form", { name: "Top up a wallet" }).waitFor();
    await shot(page, "23-staff-wallets");
    await context.close();

    const r = await fed.execute({
      query: `query($d: Date!) { meals(from: $d, to: $d) { name } }`,
      variables: { d: localDate(0) },
      token: student.token,
    });
    expect(r.data?.meals.map((m: { name: string }) => m.name)).toContain(mealName);
  });

  it("lets staff edit a meal's price and stock where the menu is shown, and withdraw it from students' menu", async () => {
    const name = `Sholeh zard ${uniqueCode("")}`;
    const meal = await addMeal(fed, { name, price: 1500, stock: 30, servingDate: localDate(0) });
    const { context, page } = await newPage();
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await goTo(page, "Meals");
    await page.getByRole("button", { name: `Edit ${name}` }).click();
    const editor = page.getByRole("form", { name: `Edit ${name}` });
    const listed = page.getByRole("listitem").filter({ hasText: name });
    // A refused input is shown at its field.
    await editor.getByLabel("Price (new orders)").fill("2000000000");
    await editor.getByRole("button", { name: "Save changes" }).click();
    await eventually(() => editor.locator(".field-error").textContent()).toMatch(/price/i);
    await editor.getByLabel("Price (new orders)").fill("1800");
    await editor.getByLabel("Servings left").fill("12");
    await editor.getByRole("button", { name: "Save changes" }).click();
    await eventually(() => editor.getByRole("status").textContent()).toMatch(`${name} is saved`);
    await eventually(() => listed.textContent()).toMatch("1,800 · 12 left");
    await shot(page, "24-staff-meal-edit");
    await editor.getByRole("button", { name: "Withdraw meal" }).click();
    await eventually(() => listed.textContent()).toMatch("withdrawn");
    expect(await editor.getByRole("button", { name: "Save changes" }).isDisabled()).toBe(true);
    await context.close();

    const menu = await fed.execute({
      query: `query($d: Date!) { meals(from: $d, to: $d) { id } }`,
      variables: { d: localDate(0) },
      token: student.token,
    });
    expect(menu.data?.meals.map((m: { id: string }) => m.id)).not.toContain(meal.id);
    const all = await fed.execute({
      query: `query($d: Date!) { allMeals(from: $d, to: $d) { id price stock available } }`,
      variables: { d: localDate(0) },
      token: fed.admin.token,
    });
    expect(all.data?.allMeals.find((m: { id: string }) => m.id === meal.id)).toEqual({
      id: meal.id,
      price: 1800,
      stock: 12,
      available: false,
    });
  });

  it("lets a student enroll, buy a meal with a double click charged once, and see the order", async () => {
    const { context, page } = await newPage();
    await signIn(page, student.email, student.password);
    await eventually(() => page.getByTestId("user-name").textContent()).toBe("Sara Student");
    await shot(page, "10-student-courses-empty");

    await goTo(page, "Course catalogue");
    await page.getByLabel("Search by code or title").fill(course.code);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("button", { name: `Enroll in ${course.code}` }).click();
    await eventually(() => page.getByRole("status").textContent()).toMatch(`enrolled in ${course.code}`);
    await shot(page, "11-student-catalogue");
    await goTo(page, "My courses");
    await page.getByRole("row").filter({ hasText: course.code }).waitFor();

    await goTo(page, "Meals this week");
    const card = page.getByRole("listitem", { name: new RegExp(mealName) });
    await card.getByRole("button", { name: `Buy ${mealName}` }).dblclick();
    await eventually(() => card.getByRole("status").textContent()).toMatch(`Ordered 1 × ${mealName}`);
    await shot(page, "12-student-meals");

    await goTo(page, "Orders and wallet");
    await eventually(() => page.getByTestId("wallet-balance").textContent()).toBe(
      (startingBalance - price).toLocaleString("en-US"),
    );
    await eventually(() => page.getByTestId("order").filter({ hasText: mealName }).count()).toBe(1);
    await shot(page, "13-student-orders");
    await context.close();

    // What the double click did, as the API sees it: one order, one charge.
    const r = await fed.execute({
      query: `{ me { wallet { balance } } myOrders { meal { name } quantity } }`,
      token: student.token,
    });
    expect(r.data?.me.wallet.balance).toBe(startingBalance - price);
    expect(r.data?.myOrders.filter((o: { meal: { name: string } }) => o.meal.name === mealName)).toHaveLength(1);
  });

  it("lets a teacher take a roll call and see the attendance rate change", async () => {
    const { context, page } = await newPage();
    await signIn(page, teacher.email, teacher.password);
    await eventually(() => page.getByTestId(`rate-${course.code}`).textContent()).toBe("no marks yet");
    await shot(page, "30-teacher-courses");

    await goTo(page, "Roll call");
    await page.getByLabel("Sara Student: absent").check();
    await page.getByRole("button", { name: "Submit roll call" }).click();
    await eventually(() => page.getByRole("status").textContent()).toMatch("Saved 1 marks");
    await shot(page, "31-teacher-roll-call");
    await goTo(page, "My courses");
    await eventually(() => page.getByTestId(`rate-${course.code}`).textContent()).toBe("0%");

    // Marked again the same day, PRESENT: the record is updated and the rate follows.
    await goTo(page, "Roll call");
    await page.getByLabel("Sara Student: present").check();
    await page.getByRole("button", { name: "Submit roll call" }).click();
    await eventually(() => page.getByRole("status").textContent()).toMatch("Saved 1 marks");
    await goTo(page, "Course report");
    await eventually(() => page.getByTestId("report-rate").textContent()).toBe("100%");
    await shot(page, "32-teacher-report");
    await context.close();
  });

  it("lets anyone change their own name and password, with refusals shown at their fields", async () => {
    const person = await fed.createUser("TEACHER", "Nima Oldname");
    const { context, page } = await newPage();
    await signIn(page, person.email, person.password);
    await eventually(() => page.getByTestId("user-name").textContent()).toBe("Nima Oldname");
    await goTo(page, "My profile");

    const nameForm = page.getByRole("form", { name: "Your name" });
    await nameForm.getByLabel("Name").fill(" ");
    await nameForm.getByRole("button", { name: "Save name" }).click();
    await eventually(() => nameForm.locator(".field-error").textContent()).toMatch(/name must be/);
    await nameForm.getByLabel("Name").fill("Nima Newname");
    await nameForm.getByRole("button", { name: "Save name" }).click();
    await eventually(() => nameForm.getByRole("status").textContent()).toMatch("Your name is now Nima Newname");
    await eventually(() => page.getByTestId("user-name").textContent()).toBe("Nima Newname");

    const passwordForm = page.getByRole("form", { name: "Change your password" });
    const changePassword = async (current: string) => {
      await passwordForm.getByLabel("Current password").fill(current);
      await passwordForm.getByLabel("New password", { exact: true }).fill("a fresh long password");
      await passwordForm.getByLabel("New password again").fill("a fresh long password");
      await passwordForm.getByRole("button", { name: "Change password" }).click();
    };
    await changePassword("not my password");
    await eventually(() => passwordForm.locator(".field-error").textContent()).toMatch("current password is wrong");
    await changePassword(person.password);
    await eventually(() => passwordForm.getByRole("status").textContent()).toMatch("Your password is changed");
    await shot(page, "50-profile");
    // Still signed in, on the new tokens: the page keeps working.
    await goTo(page, "My courses");
    await page.getByRole("region", { name: "My courses", exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "Sign in" }).count()).toBe(0);
    await context.close();

    const me = await fed.execute({ query: `{ me { name } }`, token: person.token });
    expect(me.data?.me.name).toBe("Nima Newname");
    const login = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { id } } }`;
    const old = await fed.execute({ query: login, variables: { e: person.email, p: person.password } });
    expect(old.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const fresh = await fed.execute({ query: login, variables: { e: person.email, p: "a fresh long password" } });
    expect(fresh.data?.login.user.id).toBe(person.id);
  });

  it("lets staff deactivate an account, which then cannot sign in, and reactivate it", async () => {
    const name = `Dara Deactivated ${uniqueCode("")}`;
    const person = await fed.createUser("TEACHER", name);
    const staff = await newPage();
    await signIn(staff.page, ADMIN.email, ADMIN.password);
    await staff.page.getByLabel("Show").selectOption("TEACHER");
    const row = staff.page.getByRole("row").filter({ hasText: person.email });
    await row.getByRole("button", { name: `Deactivate ${name}` }).click();
    await eventually(() => row.getByTestId("account-status").textContent()).toBe("deactivated");
    // Not oneself: no button on the staff member's own row.
    await staff.page.getByLabel("Show").selectOption("STAFF");
    const own = staff.page.getByRole("row").filter({ hasText: ADMIN.email });
    await eventually(() => own.getByTestId("account-status").textContent()).toBe("active");
    expect(await own.getByRole("button").count()).toBe(0);

    const { context, page } = await newPage();
    await signIn(page, person.email, person.password);
    await eventually(() => page.getByRole("alert").textContent()).toMatch("deactivated");

    await staff.page.getByLabel("Show").selectOption("TEACHER");
    await row.getByRole("button", { name: `Reactivate ${name}` }).click();
    await eventually(() => row.getByTestId("account-status").textContent()).toBe("active");
    await shot(staff.page, "24-staff-people-accounts");
    await page.getByRole("button", { name: "Sign in" }).click();
    await eventually(() => page.getByTestId("user-name").textContent()).toBe(name);
    await context.close();
    await staff.context.close();
  });

  it("fits a phone's width", async () => {
    const { context, page } = await newPage({ width: 390 });
    await signIn(page, student.email, student.password);
    await goTo(page, "Meals this week");
    await page.getByRole("listitem", { name: new RegExp(mealName) }).waitFor();
    const overflow = await page.evaluate(() => {
      const browser = globalThis as any;
      return browser.document.documentElement.scrollWidth - browser.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "14-student-meals-phone");
    await context.close();
  });

  it("refreshes the access token before it expires, rotating the refresh token", async () => {
    const { context, page } = await newPage();
    await signIn(page, student.email, student.password);
    await page.getByTestId("user-name").waitFor();
    const before = await page.evaluate(() => JSON.parse(localStorage.getItem("pooya.session")!));
    // The token is about to expire: the next request refreshes first.
    await page.evaluate(
      (s) => localStorage.setItem("pooya.session", JSON.stringify({ ...s, expiresAt: Date.now() + 5_000 })),
      before,
    );
    await page.reload();
    await goTo(page, "Orders and wallet");
    await page.getByTestId("wallet-balance").waitFor();
    await eventually(
      async () => (await page.evaluate(() => JSON.parse(localStorage.getItem("pooya.session")!))).refreshToken,
    ).not.toBe(before.refreshToken);
    // The spent refresh token no longer works: rotation happened on the server.
    const spent = await fed.execute({
      query: `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`,
      variables: { t: before.refreshToken },
    });
    expect(spent.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    await context.close();
  });

  it("signs out cleanly on a refused token, and with the Sign out button", async () => {
    const { context, page } = await newPage();
    await signIn(page, student.email, student.password);
    await page.getByTestId("user-name").waitFor();
    await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem("pooya.session")!);
      localStorage.setItem("pooya.session", JSON.stringify({ ...s, accessToken: "not-a-token" }));
    });
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await eventually(() => page.getByRole("status").textContent()).toMatch("session has ended");
    expect(await page.evaluate(() => localStorage.getItem("pooya.session"))).toBeNull();

    await signIn(page, student.email, student.password);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    await shot(page, "00-sign-in");
    await context.close();
  });
});

/** What the page reports as going wrong: uncaught errors and console errors. */
function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/** The same server under a hostname that is not loopback: plain http there is not a secure context. */
const offLoopback = (url: string) => url.replace("//127.0.0.1:", `//${INSECURE_TEST_HOST}:`);

describe(`the panel over plain http off loopback (http://${INSECURE_TEST_HOST}, not a secure context)`, () => {
  it.each(["student", "teacher", "staff member"] as const)(
    "walks every page of a %s with no page error",
    async (role) => {
      const base = offLoopback(panelUrl);
      // A student of its own (with a meal to buy today), so the other tests' balances stay as they expect.
      const who: { email: string; password: string; id?: string; token?: string } =
        role === "student" ? await fed.createUser("STUDENT", "Lan Student") : role === "teacher" ? teacher : ADMIN;
      const meal = role === "student" ? `Kuku sabzi ${uniqueCode("")}` : undefined;
      if (meal) {
        await topUp(fed, who.id!, 10_000);
        await addMeal(fed, { name: meal, servingDate: localDate(0), price: 800, stock: 10 });
      }
      const { context, page } = await newPage();
      const problems = pageProblems(page);
      const hosts = new Set<string>();
      page.on("request", (request) => hosts.add(new URL(request.url()).host));
      await signIn(page, who.email, who.password, base);
      await page.getByRole("button", { name: "Sign out" }).waitFor();
      expect(await page.evaluate(() => (globalThis as any).isSecureContext)).toBe(false);

      // Every page the navigation offers, each until it has loaded its data.
      const titles = await page.getByRole("navigation", { name: "Pages" }).getByRole("link").allTextContents();
      expect(titles.length).toBeGreaterThanOrEqual(3);
      for (const title of titles) {
        await goTo(page, title);
        await page.getByRole("region", { name: title, exact: true }).waitFor();
        await eventually(() => page.getByText("Loading…").count()).toBe(0);
      }
      if (meal) {
        // The page that made an idempotency key with crypto.randomUUID (secure contexts only).
        await goTo(page, "Meals this week");
        const card = page.getByRole("listitem", { name: new RegExp(meal) });
        await card.getByRole("button", { name: `Buy ${meal}` }).dblclick();
        await eventually(() => card.getByRole("status").textContent()).toMatch(`Ordered 1 × ${meal}`);
        await shot(page, "15-student-meals-plain-http");
        const r = await fed.execute({ query: `{ myOrders { meal { name } } }`, token: who.token });
        expect(r.data?.myOrders.filter((o: { meal: { name: string } }) => o.meal.name === meal)).toHaveLength(1);
      }
      await context.close();
      expect(problems).toEqual([]);
      expect([...hosts]).toEqual([new URL(base).host]);
    },
  );

  it("charges once when a purchase's answer is lost and the student clicks again (the same key is sent)", async () => {
    const buyer = await fed.createUser("STUDENT", "Lost Answer");
    const meal = `Dizi ${uniqueCode("")}`;
    await topUp(fed, buyer.id, 10_000);
    await addMeal(fed, { name: meal, servingDate: localDate(0), price: 900, stock: 10 });
    const { context, page } = await newPage();
    // The first BuyMeal reaches the server (the order is made), but its answer never reaches the page.
    let lost = false;
    await page.route("**/graphql", async (route) => {
      if (!lost && route.request().postDataJSON()?.operationName === "BuyMeal") {
        lost = true;
        // (Sent from the test's side, which does not know the browser's host mapping.)
        await route.fetch({ url: route.request().url().replace(`//${INSECURE_TEST_HOST}:`, "//127.0.0.1:") });
        return route.abort("connectionreset");
      }
      return route.continue();
    });
    await signIn(page, buyer.email, buyer.password, offLoopback(panelUrl));
    await goTo(page, "Meals this week");
    const card = page.getByRole("listitem", { name: new RegExp(meal) });
    await card.getByRole("button", { name: `Buy ${meal}` }).click();
    await eventually(() => card.getByRole("alert").textContent()).toMatch("Cannot reach Pooya");
    await card.getByRole("button", { name: `Buy ${meal}` }).click();
    await eventually(() => card.getByRole("status").textContent()).toMatch(`Ordered 1 × ${meal}`);
    await context.close();
    const r = await fed.execute({
      query: `{ me { wallet { balance } } myOrders { meal { name } } }`,
      token: buyer.token,
    });
    expect(r.data?.myOrders.filter((o: { meal: { name: string } }) => o.meal.name === meal)).toHaveLength(1);
    expect(r.data?.me.wallet.balance).toBe(10_000 - 900);
  });

  it("serves GraphiQL there with no page error", async () => {
    const { context, page } = await newPage();
    const problems = pageProblems(page);
    const response = await page.goto(`${offLoopback(fed.gateway.url)}/graphiql`);
    await page.getByRole("button", { name: /execute query/i }).waitFor();
    // Cross-Origin-Opener-Policy, which browsers ignore (with a console error) off secure contexts, is
    // not sent there; on loopback it is.
    expect(response?.headers()["cross-origin-opener-policy"]).toBeUndefined();
    expect((await fetch(`${fed.gateway.url}/graphiql`)).headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(await page.evaluate(() => (globalThis as any).isSecureContext)).toBe(false);
    await context.close();
    expect(problems).toEqual([]);
  });
});

describe("GraphiQL at /graphiql", () => {
  it("runs { me { name } } with no request leaving 127.0.0.1", async () => {
    const { context, page } = await newPage();
    const hosts = new Set<string>();
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.protocol.startsWith("http") || url.protocol.startsWith("ws")) hosts.add(url.hostname);
    });
    // Signed in on the panel of the same origin, GraphiQL starts with that token in its headers.
    await signIn(page, student.email, student.password, fed.gateway.url);
    await page.getByTestId("user-name").waitFor();
    await page.goto(`${fed.gateway.url}/graphiql?query=${encodeURIComponent("{ me { name } }")}`);
    // GraphiQL shows its Execute button before its editors have loaded; on a busy machine a click
    // that early runs nothing. So: click, and click again if no answer came within 3 s (the
    // query is safe to run twice; a click while one runs would stop it, hence the pause).
    const answered = /"name": "Sara Student"/;
    let clickedAt = 0;
    await eventually(async () => {
      // Monaco renders the answer as lines of spans with non-breaking spaces.
      const text = (await page.evaluate(() => (globalThis as any).document.body.innerText as string)).replace(
        /\u00a0/g,
        " ",
      );
      if (!answered.test(text) && Date.now() - clickedAt > 3_000) {
        clickedAt = Date.now();
        await page.getByRole("button", { name: /execute query/i }).click();
      }
      return text;
    }).toMatch(answered);
    await shot(page, "40-graphiql");
    await context.close();
    expect([...hosts]).toEqual(["127.0.0.1"]);
  });

  it("is linked from Apollo Sandbox, which opens on an example operation", async () => {
    const page = await fetch(`${fed.gateway.url}/graphql`, { headers: { accept: "text/html" } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain("mutation SignIn");
    expect(html).toContain('href="/graphiql"');
  });

  it("is off, like Sandbox, where trusted documents are enforced", async () => {
    expect((await fetch(`${panelUrl}/graphiql`)).status).toBe(404);
  });
});

describe("trusted documents (enforce)", () => {
  it("refuses an operation that is not listed with 400 PERSISTED_QUERY_NOT_LISTED, and runs listed ones by hash", async () => {
    const refused = await fetch(`${panelUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).errors[0].extensions.code).toBe("PERSISTED_QUERY_NOT_LISTED");
    const unknownHash = await fetch(`${panelUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }),
    });
    expect(unknownHash.status).toBe(400);
    const { trustedDocuments, sha256 } = await import("@pooya/system");
    const manifest = trustedDocuments();
    const [hash] = Object.entries(manifest).find(([, doc]) => doc.includes("query Viewer"))!;
    const listed = await fetch(`${panelUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${student.token}` },
      body: JSON.stringify({ documentId: `sha256:${hash}` }),
    });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as any).data.me.name).toBe("Sara Student");
    // The same text as a query runs too: it is listed.
    const asText = await fed.execute({ query: manifest[hash]!, token: student.token });
    expect(sha256(manifest[hash]!)).toBe(hash);
    expect(asText.data?.me.name).toBe("Sara Student");
  });
});
