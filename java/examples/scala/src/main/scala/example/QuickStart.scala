package example

import io.sae4j.Sae
import io.sae4j.data.SyntheticData
import java.nio.file.Files
import scala.util.Using

/** Train two SAEs on activations in memory, save one, load it back, encode, and compare. */
object QuickStart {
  def main(args: Array[String]): Unit = {
    val d = 32
    val rows = 20000
    val acts = new Array[Float](rows * d) // stand-in for a model's activations, (rows, d) row-major
    new SyntheticData(SyntheticData.Spec.of(d, 96, 1)).next(acts, rows)

    val dir = Files.createTempDirectory("sae4j-example")
    Using.resources(
      Sae.train(acts, rows, d).ratio(4).steps(400).batchSize(1024)
        .listener(records => println(f"step ${records.get(0).step()}  FVU ${records.get(0).fvu()}%.3f"))
        .run(),
      Sae.train(acts, rows, d).ratio(4).seed(7).steps(400).batchSize(1024).run()) { (a, b) =>
      a.save(dir.resolve("a"))
      Using.resource(Sae.load(dir.resolve("a"))) { loaded =>
        val f = loaded.encode(acts, 100)
        println(f"latents of 100 rows: mean L0 ${f.meanL0()}%.2f, row 0 fires ${f.indices(0).mkString(",")}")
      }
      val c = Sae.compare(acts, rows, a, b)
      println(f"two seeds: MMCS ${c.get("mmcs_ab").asInstanceOf[Double]}%.3f, Hungarian mean ${c.get("hungarian_mean").asInstanceOf[Double]}%.3f")
    }
    Using.resource(Files.walk(dir)) { files => // leave no temporary files behind
      files.sorted(java.util.Comparator.reverseOrder[java.nio.file.Path]()).forEach(f => { f.toFile.delete(); () })
    }
  }
}
