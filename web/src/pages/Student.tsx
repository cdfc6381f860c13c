// A student's pages: their courses with their attendance, the catalogue, this week's meals,
// their orders and wallet.
import { useMemo, useState } from "react";
import { useMutation, useQuery } from "@apollo/client/react";
import {
  BuyMealDocument,
  CancelOrderDocument,
  CatalogueDocument,
  DropCourseDocument,
  EnrollDocument,
  MyCoursesDocument,
  MyFoodDocument,
  WeekMealsDocument,
} from "../gql/graphql";
import type { Session } from "../session";
import { ErrorAlert, Field, Loading, Notice, isoDate, money, weekOf } from "../ui";
import { PurchaseIntent, purchaseSettled } from "../purchase-intent";
import { useRemainingPages } from "../pagination";

const PAGE_SIZE = 10;

export function MyCourses({ session }: { session: Session }) {
  const { data, loading, error, fetchMore } = useQuery(MyCoursesDocument);
  useRemainingPages(data?.me?.attendanceConnection.pageInfo, fetchMore);
  const [drop, dropping] = useMutation(DropCourseDocument, { refetchQueries: [MyCoursesDocument] });
  const courses = data?.me?.enrolledCourses ?? [];
  const marks = (data?.me?.attendanceConnection.edges ?? []).map((e) => e.node);
  if (loading && !data) return <Loading />;
  return (
    <section aria-label="My courses">
      <ErrorAlert error={error ?? dropping.error} />
      {courses.length === 0 ? (
        <p>
          You are not enrolled in any course yet. Find one in the <a href="#/catalogue">course catalogue</a>.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Course</th>
              <th scope="col">Teacher</th>
              <th scope="col">My attendance</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {courses.map((course) => {
              const mine = marks.filter((m) => m.course.id === course.id);
              const attended = mine.filter((m) => m.status === "PRESENT" || m.status === "LATE").length;
              return (
                <tr key={course.id}>
                  <td>
                    <strong>{course.code}</strong> {course.title}
                  </td>
                  <td>{course.teacher.name}</td>
                  <td data-testid={`attendance-${course.code}`}>
                    {mine.length === 0
                      ? "no classes marked yet"
                      : `${attended} of ${mine.length} classes (${Math.round((attended / mine.length) * 100)}%)`}
                    {mine.some((m) => m.status === "ABSENT") && (
                      <span className="muted small"> · absent {mine.filter((m) => m.status === "ABSENT").length}</span>
                    )}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      disabled={dropping.loading}
                      onClick={() =>
                        void drop({ variables: { courseId: course.id, studentId: session.user.id } }).catch(
                          () => undefined,
                        )
                      }
                    >
                      Drop {course.code}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Catalogue() {
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  // Cursors of the pages before this one (Relay connections page forward; back is a stack).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const { data, loading, error } = useQuery(CatalogueDocument, {
    variables: { search: applied || null, first: PAGE_SIZE, after },
  });
  const mine = useQuery(MyCoursesDocument);
  const enrolled = new Set((mine.data?.me?.enrolledCourses ?? []).map((c) => c.id));
  const [enroll, enrolling] = useMutation(EnrollDocument, { refetchQueries: [MyCoursesDocument] });
  const [lastEnrolled, setLastEnrolled] = useState<string>();
  const connection = data?.courses;
  const page = cursors.length;
  return (
    <section aria-label="Course catalogue">
      <form
        role="search"
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(search.trim());
          setCursors([null]);
        }}
      >
        <Field label="Search by code or title">
          {(props) => <input {...props} type="search" value={search} onChange={(e) => setSearch(e.target.value)} />}
        </Field>
        <button type="submit">Search</button>
      </form>
      <ErrorAlert error={error ?? enrolling.error} />
      {lastEnrolled && <Notice>You are now enrolled in {lastEnrolled}.</Notice>}
      {loading && !data ? (
        <Loading />
      ) : (
        connection && (
          <>
            <p className="muted">
              {connection.totalCount} {connection.totalCount === 1 ? "course" : "courses"}
              {applied && ` matching “${applied}”`} · page {page}
            </p>
            <ul className="cards">
              {connection.edges.map(({ node: course }) => (
                <li key={course.id} className="card">
                  <h2>
                    {course.code} · {course.title}
                  </h2>
                  <p className="muted">
                    {course.teacher.name} · {course.seatsLeft} of {course.capacity} seats left
                  </p>
                  {course.description && <p>{course.description}</p>}
                  {enrolled.has(course.id) ? (
                    <p>
                      <strong>Enrolled</strong>
                    </p>
                  ) : course.status === "CLOSED" ? (
                    <p className="muted">Closed to new enrollments</p>
                  ) : (
                    <button
                      type="button"
                      disabled={enrolling.loading || course.seatsLeft === 0}
                      onClick={async () => {
                        setLastEnrolled(undefined);
                        const result = await enroll({ variables: { courseId: course.id } }).catch(() => undefined);
                        if (result?.data) setLastEnrolled(course.code);
                      }}
                    >
                      {course.seatsLeft === 0 ? "Full" : `Enroll in ${course.code}`}
                    </button>
                  )}
                </li>
              ))}
            </ul>
            <div className="pager">
              <button
                type="button"
                className="secondary"
                disabled={page === 1}
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
    </section>
  );
}

const MEAL_ORDER = { BREAKFAST: 0, LUNCH: 1, DINNER: 2 } as const;

export function Meals() {
  const week = useMemo(() => weekOf(), []);
  const { data, loading, error } = useQuery(WeekMealsDocument, { variables: week });
  const today = isoDate();
  if (loading && !data) return <Loading />;
  const meals = [...(data?.meals ?? [])].sort(
    (a, b) => a.servingDate.localeCompare(b.servingDate) || MEAL_ORDER[a.mealType] - MEAL_ORDER[b.mealType],
  );
  return (
    <section aria-label="Meals this week">
      <p className="muted">
        {week.from} to {week.to}
      </p>
      <ErrorAlert error={error} />
      {meals.length === 0 && <p>No meals are planned this week yet.</p>}
      <ul className="cards">
        {meals.map((meal) => (
          <MealCard key={meal.id} meal={meal} past={meal.servingDate < today} />
        ))}
      </ul>
    </section>
  );
}

function MealCard({
  meal,
  past,
}: {
  meal: {
    id: string;
    name: string;
    description?: string | null;
    mealType: string;
    servingDate: string;
    price: number;
    stock: number;
  };
  past: boolean;
}) {
  const [quantity, setQuantity] = useState(1);
  // One idempotency key per purchase intent (made once, not on every render): see PurchaseIntent.
  const [intent] = useState(() => new PurchaseIntent());
  const [buy, { loading, error, reset }] = useMutation(BuyMealDocument, { refetchQueries: [MyFoodDocument] });
  const [bought, setBought] = useState<string>();
  const purchase = async (clicks: number) => {
    const key = intent.keyFor(clicks);
    setBought(undefined);
    const result = await buy({ variables: { input: { mealId: meal.id, quantity, idempotencyKey: key } } }).catch(
      (caught: unknown) => ({ data: undefined, error: caught }),
    );
    intent.answered(key, purchaseSettled(result));
    if (result.data)
      setBought(`Ordered ${result.data.buyMeal.quantity} × ${meal.name} for ${money(result.data.buyMeal.totalPrice)}.`);
  };
  return (
    <li className="card" aria-label={`${meal.name}, ${meal.mealType.toLowerCase()} on ${meal.servingDate}`}>
      <h2>{meal.name}</h2>
      <p className="muted">
        {meal.servingDate} · {meal.mealType.toLowerCase()} · {money(meal.price)} · {meal.stock} left
      </p>
      {meal.description && <p>{meal.description}</p>}
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void purchase(1);
        }}
      >
        <Field label="Quantity">
          {(props) => (
            <input
              {...props}
              type="number"
              min={1}
              max={10}
              value={quantity}
              onChange={(e) => {
                reset();
                intent.reset();
                setQuantity(Math.max(1, Number(e.target.value) || 1));
              }}
            />
          )}
        </Field>
        <button
          type="submit"
          disabled={past || meal.stock === 0}
          aria-busy={loading}
          onClick={(event) => {
            event.preventDefault();
            void purchase(event.detail);
          }}
        >
          {past ? "Served" : meal.stock === 0 ? "Sold out" : `Buy ${meal.name}`}
        </button>
      </form>
      {bought && <Notice>{bought}</Notice>}
      <ErrorAlert error={error} />
    </li>
  );
}

export function MyFood() {
  const { data, loading, error, fetchMore } = useQuery(MyFoodDocument);
  const [cancel, cancelling] = useMutation(CancelOrderDocument, { refetchQueries: [MyFoodDocument] });
  if (loading && !data) return <Loading />;
  const orders = (data?.myOrdersConnection.edges ?? []).map((e) => e.node);
  const older = data?.myOrdersConnection.pageInfo;
  const today = isoDate();
  return (
    <section aria-label="Orders and wallet">
      <p className="balance">
        Wallet balance: <strong data-testid="wallet-balance">{money(data?.me?.wallet?.balance ?? 0)}</strong>
      </p>
      <ErrorAlert error={error ?? cancelling.error} />
      {orders.length === 0 ? (
        <p>
          No orders yet. See the <a href="#/meals">meals this week</a>.
        </p>
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Meal</th>
                <th scope="col">Served</th>
                <th scope="col">Quantity</th>
                <th scope="col">Total</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <tr key={order.id} data-testid="order">
                  <td>{order.meal.name}</td>
                  <td>
                    {order.meal.servingDate} {order.meal.mealType.toLowerCase()}
                  </td>
                  <td>{order.quantity}</td>
                  <td>{money(order.totalPrice)}</td>
                  <td>{order.status === "CONFIRMED" ? "confirmed" : "cancelled"}</td>
                  <td>
                    {order.status === "CONFIRMED" && order.meal.servingDate > today && (
                      <button
                        type="button"
                        className="secondary"
                        disabled={cancelling.loading}
                        onClick={() => void cancel({ variables: { orderId: order.id } }).catch(() => undefined)}
                      >
                        Cancel order
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {older?.hasNextPage && older.endCursor && (
            <button
              type="button"
              className="secondary"
              onClick={() => void fetchMore({ variables: { after: older.endCursor! } }).catch(() => undefined)}
            >
              Show older orders
            </button>
          )}
        </>
      )}
    </section>
  );
}
