// Editing a meal where staff see it: its name, price (for orders placed from now on) and stock
// (servings left), and withdrawing it. The answers update the cached meal, so the menu changes at
// once; the API's refusals appear next to their field or above the buttons.
import { useState } from "react";
import { useMutation } from "@apollo/client/react";
import { UpdateMealDocument, WithdrawMealDocument, type UpdateMealInput } from "./gql/graphql";
import { splitProblems } from "./errors";
import { Field, Notice, Problems } from "./ui";

export interface EditableMeal {
  id: string;
  name: string;
  price: number;
  stock: number;
  available: boolean;
}

const FIELDS = ["name", "price", "stock"];

export function MealEditor({ meal, onDone }: { meal: EditableMeal; onDone: () => void }) {
  const [form, setForm] = useState({ name: meal.name, price: meal.price, stock: meal.stock });
  const [update, updating] = useMutation(UpdateMealDocument);
  const [withdraw, withdrawing] = useMutation(WithdrawMealDocument);
  const [done, setDone] = useState<string>();
  const { byField, general } = splitProblems(updating.error ?? withdrawing.error, FIELDS);
  const withdrawn = !meal.available;
  return (
    <form
      aria-label={`Edit ${meal.name}`}
      className="panel"
      onSubmit={async (event) => {
        event.preventDefault();
        setDone(undefined);
        withdrawing.reset();
        // Only what changed is sent: the API keeps the rest as it is.
        const input: UpdateMealInput = {};
        if (form.name.trim() !== meal.name) input.name = form.name.trim();
        if (form.price !== meal.price) input.price = form.price;
        if (form.stock !== meal.stock) input.stock = form.stock;
        if (Object.keys(input).length === 0) {
          setDone("Nothing to change.");
          return;
        }
        const result = await update({ variables: { id: meal.id, input } }).catch(() => undefined);
        if (result?.data) setDone(`${result.data.updateMeal.name} is saved.`);
      }}
    >
      <h2>Edit {meal.name}</h2>
      {withdrawn && <Notice>{meal.name} is withdrawn: it takes no new orders and can no longer be edited.</Notice>}
      <Field label="Name" error={byField.name}>
        {(p) => (
          <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        )}
      </Field>
      <Field label="Price (new orders)" error={byField.price}>
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
      <Field label="Servings left" error={byField.stock}>
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
      <Problems problems={general} />
      {done && <Notice>{done}</Notice>}
      <div className="inline">
        <button type="submit" disabled={withdrawn || updating.loading}>
          Save changes
        </button>
        <button
          type="button"
          className="secondary"
          disabled={withdrawn || withdrawing.loading}
          onClick={async () => {
            setDone(undefined);
            updating.reset();
            const result = await withdraw({ variables: { id: meal.id } }).catch(() => undefined);
            if (result?.data) setDone(`${meal.name} is withdrawn from the menu.`);
          }}
        >
          Withdraw meal
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </form>
  );
}
