// Staff pages: people (create teachers and other accounts, deactivate and reactivate them),
// courses (create one for a teacher; edit, give to another teacher, close), meals (add, edit,
// withdraw), wallets (top up a student's).
import { useMemo, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery } from "@apollo/client/react";
import { MealEditor } from "../meal-editor";
import {
  AddMealDocument,
  CatalogueDocument,
  CreateCourseDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  PeopleDocument,
  ReactivateUserDocument,
  StaffMealsDocument,
  StudentWalletDocument,
  TopUpWalletDocument,
  type MealType,
  type Role,
} from "../gql/graphql";
import { splitProblems } from "../errors";
import { getSession } from "../session";
import { ErrorAlert, Field, Loading, Notice, Problems, isoDate, money, weekOf } from "../ui";
import { CourseEditor } from "../course-editor";

/** A form whose API errors go next to their fields (by extensions.field), the rest above the button. */
export function ApiForm({
  label,
  fields,
  error,
  done,
  busy,
  submitLabel,
  onSubmit,
  children,
}: {
  label: string;
  fields: string[];
  error: unknown;
  done?: string | undefined;
  busy: boolean;
  submitLabel: string;
  onSubmit: () => Promise<unknown>;
  children: (errors: Record<string, string>) => ReactNode;
}) {
  const { byField, general } = splitProblems(error, fields);
  return (
    <form
      aria-label={label}
      className="panel"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        void onSubmit().catch(() => undefined);
      }}
    >
      <h2>{label}</h2>
      {children(byField)}
      <Problems problems={general} />
      {done && <Notice>{done}</Notice>}
      <button type="submit" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  );
}

function usePeople(role: Role) {
  const { data } = useQuery(PeopleDocument, { variables: { role, first: 100 } });
  return data?.users.edges.map((e) => e.node) ?? [];
}

export function People() {
  const [role, setRole] = useState<Role | "">("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const { data, loading, error } = useQuery(PeopleDocument, {
    variables: { role: role || null, first: 20, after: cursors[cursors.length - 1] ?? null },
  });
  const [form, setForm] = useState({ name: "", email: "", password: "", role: "TEACHER" as Role });
  const [create, creating] = useMutation(CreateUserDocument, { refetchQueries: [PeopleDocument] });
  const [done, setDone] = useState<string>();
  const connection = data?.users;
  return (
    <section aria-label="People" className="columns">
      <ApiForm
        label="Create an account"
        fields={["name", "email", "password", "role"]}
        error={creating.error}
        busy={creating.loading}
        done={done}
        submitLabel="Create account"
        onSubmit={async () => {
          setDone(undefined);
          const result = await create({ variables: { input: { ...form, email: form.email.trim() } } });
          if (result.data) {
            setDone(
              `${result.data.createUser.name} can now sign in as a ${result.data.createUser.role.toLowerCase()}.`,
            );
            setForm({ ...form, name: "", email: "", password: "" });
          }
        }}
      >
        {(errors) => (
          <>
            <Field label="Name" error={errors.name}>
              {(p) => (
                <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              )}
            </Field>
            <Field label="Email" error={errors.email}>
              {(p) => (
                <input
                  {...p}
                  type="email"
                  required
                  value={form.email}
                  onChange={(e) => setForm({ ...form, email: e.target.value })}
                />
              )}
            </Field>
            <Field label="Initial password" error={errors.password}>
              {(p) => (
                <input
                  {...p}
                  type="password"
                  autoComplete="new-password"
                  required
                  value={form.password}
                  onChange={(e) => setForm({ ...form, password: e.target.value })}
                />
              )}
            </Field>
            <Field label="Role" error={errors.role}>
              {(p) => (
                <select {...p} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
                  <option value="TEACHER">Teacher</option>
                  <option value="STUDENT">Student</option>
                  <option value="STAFF">Staff</option>
                </select>
              )}
            </Field>
          </>
        )}
      </ApiForm>
      <div>
        <Field label="Show">
          {(p) => (
            <select
              {...p}
              value={role}
              onChange={(e) => {
                setRole(e.target.value as Role | "");
                setCursors([null]);
              }}
            >
              <option value="">Everyone</option>
              <option value="STUDENT">Students</option>
              <option value="TEACHER">Teachers</option>
              <option value="STAFF">Staff</option>
            </select>
          )}
        </Field>
        <ErrorAlert error={error} />
        {loading && !data ? (
          <Loading />
        ) : (
          connection && (
            <>
              <p className="muted">
                {connection.totalCount} people · page {cursors.length}
              </p>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Account</th>
                  </tr>
                </thead>
                <tbody>
                  {connection.edges.map(({ node }) => (
                    <tr key={node.id}>
                      <td>{node.name}</td>
                      <td>{node.email}</td>
                      <td>{node.role.toLowerCase()}</td>
                      <td>
                        <AccountSwitch user={node} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div className="pager">
                <button
                  type="button"
                  className="secondary"
                  disabled={cursors.length === 1}
                  onClick={() => setCursors(cursors.slice(0, -1))}
                >
                  Previous page
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={!connection.pageInfo.hasNextPage}
                  onClick={() => setCursors([...cursors, connection.pageInfo.endCursor ?? null])}
                >
                  Next page
                </button>
              </div>
            </>
          )
        )}
      </div>
    </section>
  );
}

/**
 * Active or deactivated, and the button that changes it (not for one's own account). The answer
 * carries `active`, so the row updates from Apollo's cache without a refetch.
 */
function AccountSwitch({ user }: { user: { id: string; name: string; active: boolean } }) {
  const [deactivate, deactivating] = useMutation(DeactivateUserDocument);
  const [reactivate, reactivating] = useMutation(ReactivateUserDocument);
  const busy = deactivating.loading || reactivating.loading;
  const self = user.id === getSession()?.user.id;
  return (
    <>
      <span data-testid="account-status">{user.active ? "active" : "deactivated"}</span>{" "}
      {!self && (
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={() =>
            void (user.active ? deactivate : reactivate)({ variables: { id: user.id } }).catch(() => undefined)
          }
        >
          {user.active ? "Deactivate" : "Reactivate"}
          <span className="visually-hidden"> {user.name}</span>
        </button>
      )}
      <ErrorAlert error={deactivating.error ?? reactivating.error} />
    </>
  );
}

export function StaffCourses() {
  const teachers = usePeople("TEACHER");
  const [form, setForm] = useState({ code: "", title: "", description: "", capacity: 30, teacherId: "" });
  const [create, creating] = useMutation(CreateCourseDocument, { refetchQueries: [CatalogueDocument] });
  const [done, setDone] = useState<string>();
  const catalogue = useQuery(CatalogueDocument, { variables: { first: 50 } });
  const [editing, setEditing] = useState<string>();
  const edited = catalogue.data?.courses.edges.find((e) => e.node.id === editing)?.node;
  const teacherId = form.teacherId || teachers[0]?.id || "";
  return (
    <section aria-label="Courses" className="columns">
      <ApiForm
        label="Create a course"
        fields={["code", "title", "description", "capacity", "teacherId"]}
        error={creating.error}
        busy={creating.loading}
        done={done}
        submitLabel="Create course"
        onSubmit={async () => {
          setDone(undefined);
          const result = await create({
            variables: {
              input: {
                code: form.code.trim(),
                title: form.title.trim(),
                description: form.description.trim() || null,
                capacity: form.capacity,
                teacherId,
              },
            },
          });
          if (result.data) {
            setDone(
              `${result.data.createCourse.code} is in the catalogue, taught by ${result.data.createCourse.teacher.name}.`,
            );
            setForm({ ...form, code: "", title: "", description: "" });
          }
        }}
      >
        {(errors) => (
          <>
            <Field label="Code" error={errors.code}>
              {(p) => (
                <input {...p} required value={form.code} onChange={(e) => setForm({ ...form, code: e.target.value })} />
              )}
            </Field>
            <Field label="Title" error={errors.title}>
              {(p) => (
                <input
                  {...p}
                  required
                  value={form.title}
                  onChange={(e) => setForm({ ...form, title: e.target.value })}
                />
              )}
            </Field>
            <Field label="Description" error={errors.description}>
              {(p) => (
                <textarea
                  {...p}
                  value={form.description}
                  onChange={(e) => setForm({ ...form, description: e.target.value })}
                />
              )}
            </Field>
            <Field label="Capacity" error={errors.capacity}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={1}
                  required
                  value={form.capacity}
                  onChange={(e) => setForm({ ...form, capacity: Number(e.target.value) })}
                />
              )}
            </Field>
            <Field label="Teacher" error={errors.teacherId}>
              {(p) => (
                <select {...p} value={teacherId} onChange={(e) => setForm({ ...form, teacherId: e.target.value })}>
                  {teachers.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name} ({t.email})
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </>
        )}
      </ApiForm>
      <div>
        <h2>Catalogue</h2>
        <ErrorAlert error={catalogue.error} />
        {edited && (
          <CourseEditor key={edited.id} course={edited} teachers={teachers} onDone={() => setEditing(undefined)} />
        )}
        <ul className="plain">
          {catalogue.data?.courses.edges.map(({ node }) => (
            <li key={node.id}>
              <strong>{node.code}</strong> {node.title} · {node.teacher.name} · {node.capacity - node.seatsLeft}/
              {node.capacity}
              {node.status === "CLOSED" && " · closed"}{" "}
              <button
                type="button"
                className="secondary"
                aria-label={`Edit ${node.code}`}
                onClick={() => setEditing(node.id)}
              >
                Edit
              </button>
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}

const MEAL_TYPES: MealType[] = ["BREAKFAST", "LUNCH", "DINNER"];

export function StaffMeals() {
  const week = useMemo(() => weekOf(), []);
  const [form, setForm] = useState({
    name: "",
    description: "",
    mealType: "LUNCH" as MealType,
    servingDate: isoDate(),
    price: 2500,
    stock: 100,
  });
  const [add, adding] = useMutation(AddMealDocument, { refetchQueries: [StaffMealsDocument] });
  const [done, setDone] = useState<string>();
  // Withdrawn meals too (flagged): students no longer see them, their orders stay.
  const meals = useQuery(StaffMealsDocument, { variables: week });
  const [editing, setEditing] = useState<string>();
  const edited = meals.data?.allMeals.find((m) => m.id === editing);
  return (
    <section aria-label="Meals" className="columns">
      <ApiForm
        label="Add a meal"
        fields={["name", "description", "mealType", "servingDate", "price", "stock"]}
        error={adding.error}
        busy={adding.loading}
        done={done}
        submitLabel="Add meal"
        onSubmit={async () => {
          setDone(undefined);
          const result = await add({
            variables: { input: { ...form, name: form.name.trim(), description: form.description.trim() || null } },
          });
          if (result.data) {
            setDone(`${result.data.addMeal.name} is on the menu for ${result.data.addMeal.servingDate}.`);
            setForm({ ...form, name: "", description: "" });
          }
        }}
      >
        {(errors) => (
          <>
            <Field label="Name" error={errors.name}>
              {(p) => (
                <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              )}
            </Field>
            <Field label="Description" error={errors.description}>
              {(p) => (
                <input
                  {...p}
                  value={form.description}
                  onChange={(e) => setForm({ ...form, description: e.target.value })}
                />
              )}
            </Field>
            <Field label="Meal" error={errors.mealType}>
              {(p) => (
                <select
                  {...p}
                  value={form.mealType}
                  onChange={(e) => setForm({ ...form, mealType: e.target.value as MealType })}
                >
                  {MEAL_TYPES.map((t) => (
                    <option key={t} value={t}>
                      {t.toLowerCase()}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Serving date" error={errors.servingDate}>
              {(p) => (
                <input
                  {...p}
                  type="date"
                  required
                  value={form.servingDate}
                  onChange={(e) => setForm({ ...form, servingDate: e.target.value })}
                />
              )}
            </Field>
            <Field label="Price" error={errors.price}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  required
                  value={form.price}
                  onChange={(e) => setForm({ ...form, price: Number(e.target.value) })}
                />
              )}
            </Field>
            <Field label="Stock" error={errors.stock}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  required
                  value={form.stock}
                  onChange={(e) => setForm({ ...form, stock: Number(e.target.value) })}
                />
              )}
            </Field>
          </>
        )}
      </ApiForm>
      <div>
        <h2>
          This week ({week.from} to {week.to})
        </h2>
        <ErrorAlert error={meals.error} />
        {edited && <MealEditor key={edited.id} meal={edited} onDone={() => setEditing(undefined)} />}
        {meals.loading && !meals.data ? (
          <Loading />
        ) : (
          <ul className="plain">
            {meals.data?.allMeals.map((m) => (
              <li key={m.id}>
                {m.servingDate} {m.mealType.toLowerCase()}: <strong>{m.name}</strong> · {money(m.price)} · {m.stock}{" "}
                left{!m.available && " · withdrawn"}{" "}
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Edit ${m.name}`}
                  onClick={() => setEditing(m.id)}
                >
                  Edit
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

export function Wallets() {
  const students = usePeople("STUDENT");
  const [studentId, setStudentId] = useState("");
  const [amount, setAmount] = useState(10_000);
  const chosen = studentId || students[0]?.id || "";
  const wallet = useQuery(StudentWalletDocument, { variables: { id: chosen }, skip: !chosen });
  const [topUp, topping] = useMutation(TopUpWalletDocument, { refetchQueries: [StudentWalletDocument] });
  const [done, setDone] = useState<string>();
  return (
    <section aria-label="Wallets">
      <ApiForm
        label="Top up a wallet"
        fields={["userId", "amount"]}
        error={topping.error}
        busy={topping.loading}
        done={done}
        submitLabel="Top up"
        onSubmit={async () => {
          setDone(undefined);
          const result = await topUp({ variables: { userId: chosen, amount } });
          if (result.data) setDone(`New balance: ${money(result.data.topUpWallet.balance)}.`);
        }}
      >
        {(errors) => (
          <>
            <Field label="Student" error={errors.userId}>
              {(p) => (
                <select
                  {...p}
                  value={chosen}
                  onChange={(e) => {
                    setStudentId(e.target.value);
                    setDone(undefined);
                  }}
                >
                  {students.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.name} ({s.email})
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <p className="muted">
              Current balance: {wallet.data?.user ? money(wallet.data.user.wallet?.balance ?? 0) : "…"}
            </p>
            <Field label="Amount" error={errors.amount}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={1}
                  required
                  value={amount}
                  onChange={(e) => setAmount(Number(e.target.value))}
                />
              )}
            </Field>
          </>
        )}
      </ApiForm>
    </section>
  );
}
